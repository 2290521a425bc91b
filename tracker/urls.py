from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from notifications.metrics import metrics
from notifications.status import HealthView, system_status
from tracker.accounts import PasswordResetConfirmView, PasswordResetRequestView

admin.site.site_header = "부산 성장전략 핵심사업 관리"
admin.site.site_title = "부산 성장전략 TF"
admin.site.index_title = "관리"

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("metrics", metrics, name="metrics"),
    path("admin/status/", admin.site.admin_view(system_status), name="admin_system_status"),
    path("admin/", admin.site.urls),
    path("accounts/password_reset/", PasswordResetRequestView.as_view(), name="password_reset"),
    path("accounts/reset/<uidb64>/<token>/", PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("n/", include("notifications.urls")),
    path("", include("projects.urls")),
]
