from __future__ import annotations

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("m/<str:token>/submit/", views.milestone_submit, name="milestone_submit"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("calendar/", views.calendar_settings, name="calendar"),
    path("settings/", views.my_settings, name="settings"),
    path("digest/", views.digest_page, name="digest"),
    path("digest/<str:week>/", views.digest_page, name="digest_week"),
    path("digest/<str:week>.pdf", views.digest_pdf_download, name="digest_pdf"),
    path("feeds/<str:token>/my.ics", views.my_calendar_feed, name="my_calendar"),
    path("feeds/<str:token>/strategy/<int:pk>.ics", views.strategy_calendar_feed, name="strategy_calendar"),
]
