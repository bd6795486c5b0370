from django.urls import path

from . import views

app_name = "sandbox_freshbooks"

urlpatterns = [
    path("auth/api/v1/users/me", views.users_me, name="users_me"),
    path("accounting/account/<str:account_id>/<str:group>/<str:resource>", views.collection, name="collection"),
    path(
        "accounting/account/<str:account_id>/<str:group>/<str:resource>/<str:object_id>",
        views.single,
        name="single",
    ),
]
