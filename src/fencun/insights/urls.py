from django.urls import path

from fencun.insights import views

urlpatterns = [
    path("r/<str:token>", views.follow_link, name="insights-link"),
    path("webhooks/orders/<str:secret>", views.orders_webhook, name="insights-orders-webhook"),
]
