from __future__ import annotations

from django.urls import path

from projects import views
from projects.milestone_templates import views as milestone_template_views

app_name = "projects"

urlpatterns = [
    path("", views.home, name="home"),
    path("my/", views.my_projects, name="my_projects"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard.pdf", views.dashboard_pdf, name="dashboard_pdf"),
    path("funding/", views.funding_pipeline, name="funding_pipeline"),
    path("projects/", views.portfolio, name="portfolio"),
    path("milestones/", views.milestones, name="milestones"),
    path("timeline/", views.timeline, name="timeline"),
    path("projects/<int:pk>/", views.project_detail, name="project"),
    path("projects/<int:pk>/history/", views.project_history, name="project_history"),
    path("projects/<int:pk>/milestones/new/", views.milestone_create, name="milestone_create"),
    path("projects/<int:pk>/note/", views.progress_note, name="progress_note"),
    path(
        "projects/<int:pk>/templates/",
        milestone_template_views.milestone_template_choose,
        name="milestone_template_choose",
    ),
    path(
        "projects/<int:pk>/templates/<int:template_pk>/",
        milestone_template_views.milestone_template_apply,
        name="milestone_template_apply",
    ),
    path("milestones/<int:pk>/edit/", views.milestone_edit, name="milestone_edit"),
    path("milestones/<int:pk>/<slug:action>/", views.milestone_action, name="milestone_action"),
]
