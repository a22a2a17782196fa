from django.urls import path

from . import views, views_portal

app_name = "billing"

urlpatterns = [
    # The customer's invoices (views_portal.py): own invoices only, 404 for others.
    path("invoices/", views_portal.invoice_list, name="invoice_list"),
    path("invoices/<uuid:public_id>/", views_portal.invoice_detail, name="invoice_detail"),
    path("invoices/<uuid:public_id>/pdf/", views_portal.invoice_pdf, name="invoice_pdf"),
    path(
        "invoices/<uuid:public_id>/xrechnung.xml",
        views_portal.invoice_xrechnung,
        name="invoice_xrechnung",
    ),
    path(
        "contracts/<int:pk>/price-chart.svg",
        views.contract_price_chart,
        name="contract-price-chart",
    ),
]
