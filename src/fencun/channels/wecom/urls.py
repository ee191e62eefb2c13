from django.urls import path

from fencun.channels.wecom import views

urlpatterns = [
    path("wecom/callback", views.callback, name="wecom-callback"),
    path("wecom/callback/<str:corp_id>", views.callback, name="wecom-callback-corp"),
]
