from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path(
        "contracts/<int:pk>/price-chart.svg",
        views.contract_price_chart,
        name="contract-price-chart",
    ),
]
