from django.contrib.auth import views as auth_views
from django.urls import include, path

from fencun.console import channels, members, segments, views

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.overview, name="console-overview"),
    path("followers/", views.followers, name="console-followers"),
    path("followers/<int:pk>/", views.follower, name="console-follower"),
    path("segments/", segments.segments, name="console-segments"),
    path("segments/count/", segments.segment_count, name="console-segment-count"),
    path("segments/<int:pk>/delete/", segments.segment_delete, name="console-segment-delete"),
    path("campaigns/", views.campaigns, name="console-campaigns"),
    path("campaigns/new/", views.campaign_new, name="console-campaign-new"),
    path("campaigns/lint/", views.campaign_lint, name="console-campaign-lint"),
    path("campaigns/<int:pk>/", views.campaign, name="console-campaign"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="console-campaign-edit"),
    path("campaigns/<int:pk>/report/", views.campaign_report, name="console-campaign-report"),
    path("rules/", views.rules, name="console-rules"),
    path("account/", views.account_switch, name="console-account"),
    path("products/", views.products, name="console-products"),
    path("products/new/", views.product_edit, name="console-product-new"),
    path("products/<int:pk>/", views.product_edit, name="console-product-edit"),
    path("products/<int:pk>/delete/", views.product_delete, name="console-product-delete"),
    path("auto-replies/", views.autoreplys, name="console-autoreplys"),
    path("auto-replies/new/", views.autoreply_edit, name="console-autoreply-new"),
    path("auto-replies/<int:pk>/", views.autoreply_edit, name="console-autoreply-edit"),
    path("auto-replies/<int:pk>/delete/", views.autoreply_delete, name="console-autoreply-delete"),
    path("stores/", views.stores, name="console-stores"),
    path("stores/new/", views.store_edit, name="console-store-new"),
    path("stores/<int:pk>/", views.store_edit, name="console-store-edit"),
    path("stores/<int:pk>/delete/", views.store_delete, name="console-store-delete"),
    path("broadcast/", channels.broadcast, name="console-broadcast"),
    path("costs/", channels.channel_costs, name="console-costs"),
    path("members/", members.members, name="console-members"),
]
