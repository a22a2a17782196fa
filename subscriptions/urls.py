from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from security.views import PasswordChangeView

from .forms import EmailAuthenticationForm, EmailPasswordResetForm
from .views import checkout, home, payments, portal, vouchers

app_name = "subscriptions"


urlpatterns = [
    path("", home.home, name="home"),
    path("language/", home.set_language, name="set_language"),
    # Checkout (views/checkout.py).
    path("checkout/<slug:offer_code>/", checkout.checkout, name="checkout"),
    # The customer's subscriptions and account (views/portal.py). URLs carry public ids.
    path("subscriptions/", portal.subscription_list, name="subscription_list"),
    path("subscriptions/<uuid:public_id>/", portal.subscription_detail, name="subscription_detail"),
    path(
        "subscriptions/<uuid:public_id>/cancel/",
        portal.subscription_cancel,
        name="subscription_cancel",
    ),
    path(
        "subscriptions/<uuid:public_id>/undo-cancellation/",
        portal.subscription_undo_cancellation,
        name="subscription_undo_cancellation",
    ),
    path("account/", portal.account, name="account"),
    # Vouchers (views/vouchers.py).
    path("vouchers/", vouchers.voucher_redeem, name="voucher_redeem"),
    # Payment methods (views/payments.py).
    path("payment-methods/", payments.payment_method_list, name="payment_method_list"),
    path("payment-methods/add/", payments.payment_method_add, name="payment_method_add"),
    path(
        "subscriptions/<uuid:public_id>/payment-method/",
        payments.subscription_payment_method,
        name="subscription_payment_method",
    ),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="subscriptions/login.html",
            authentication_form=EmailAuthenticationForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    # Django's LogoutView accepts POST only.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="subscriptions/password_reset_form.html",
            form_class=EmailPasswordResetForm,
            subject_template_name="emails/password-reset-subject.txt",
            email_template_name="emails/password-reset-body.txt",
            html_email_template_name="emails/password-reset-body.html",
            success_url=reverse_lazy("subscriptions:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="subscriptions/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="subscriptions/password_reset_confirm.html",
            success_url=reverse_lazy("subscriptions:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="subscriptions/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path(
        "password/change/",
        PasswordChangeView.as_view(
            template_name="subscriptions/password_change_form.html",
            success_url=reverse_lazy("subscriptions:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="subscriptions/password_change_done.html"
        ),
        name="password_change_done",
    ),
]
