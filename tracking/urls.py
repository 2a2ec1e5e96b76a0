from django.contrib.auth import views as auth_views
from django.urls import path

from tracking import people, teams, views
from tracking.alerts import channel_pages, rule_pages
from tracking.auth import ThrottledAuthenticationForm

urlpatterns = [
    path("favicon.ico", views.favicon),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html",
            redirect_authenticated_user=True,
            authentication_form=ThrottledAuthenticationForm,
        ),
        name="login",
    ),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("", views.inbox, name="inbox"),
    path("bulk/", views.inbox_bulk, name="inbox_bulk"),
    path("errors/<uuid:error_id>/", views.error_detail, name="error_detail"),
    path("errors/<uuid:error_id>/<slug:action>/", views.error_action, name="error_action"),
    path("me/", views.my_work, name="my_work"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("projects/", views.project_list, name="project_list"),
    path("projects/<int:project_id>/", views.project_detail, name="project_detail"),
    path(
        "projects/<int:project_id>/releases/",
        views.project_releases,
        name="project_releases",
    ),
    # Alert channels (issue 15)
    path(
        "projects/<int:project_id>/alerts/channels/",
        channel_pages.alert_channels,
        name="alert_channels",
    ),
    path(
        "projects/<int:project_id>/alerts/channels/<int:channel_id>/",
        channel_pages.alert_channel_detail,
        name="alert_channel_detail",
    ),
    # Alert rules (issue 15)
    path("projects/<int:project_id>/alerts/rules/", rule_pages.alert_rules, name="alert_rules"),
    path(
        "projects/<int:project_id>/alerts/rules/<int:rule_id>/",
        rule_pages.alert_rule_detail,
        name="alert_rule_detail",
    ),
    path("settings/", people.my_settings, name="my_settings"),
    path("people/", people.people_page, name="people"),
    path("teams/", teams.teams_page, name="teams"),
    path(
        "invite/<uidb64>/<token>/",
        people.InviteAcceptView.as_view(),
        name="invite_accept",
    ),
]
