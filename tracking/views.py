from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tracking.models import Error


def inbox(request: HttpRequest) -> HttpResponse:
    errors = Error.objects.select_related("project").filter(status="unresolved")[:50]
    return render(request, "tracking/inbox.html", {"errors": errors})
