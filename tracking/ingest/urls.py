from django.urls import path

from tracking.ingest import security, views

urlpatterns = [
    path("<int:project_id>/envelope/", views.envelope, name="ingest_envelope"),
    path("<int:project_id>/store/", views.store, name="ingest_store"),
    path("<int:project_id>/security/", security.security_report, name="ingest_security"),
]
