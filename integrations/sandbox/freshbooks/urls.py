from django.urls import path

from . import callbacks, views

app_name = "sandbox_freshbooks"

urlpatterns = [
    path("_webhooks", callbacks.control, name="webhooks_control"),
    path("events/account/<str:account_id>/events/callbacks", callbacks.collection, name="callbacks"),
    path("events/account/<str:account_id>/events/callbacks/<str:callback_id>", callbacks.single, name="callback"),
    path("auth/api/v1/users/me", views.users_me, name="users_me"),
    path("accounting/account/<str:account_id>/<str:group>/<str:resource>", views.collection, name="collection"),
    path(
        "accounting/account/<str:account_id>/<str:group>/<str:resource>/<str:object_id>",
        views.single,
        name="single",
    ),
]
