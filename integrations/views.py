"""Settings → Integrations: the provider cards, connect/reconnect/disconnect and the post-connection wizard
(the account mapping grid is in views_mapping). Thin: every change goes through integrations.services.

Everyone in the organization sees the cards; only owners and admins connect, disconnect, import and map
(blueclerk.tenancy.require_manager).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from blueclerk.tenancy import require_manager
from blueclerk.views import organization_required

from . import health, services
from .forms import ChooseCompanyForm, DisconnectForm
from .models import Connection, Provider
from .providers.base import ProviderError, ReconnectRequired
from .providers.config import provider_config
from .services.freshbooks_webhooks import webhook_state

STEP_LABELS = {"customers": "Import customers", "items": "Import items", "accounts": "Map income accounts"}


def _provider(provider):
    if provider not in Provider.values:
        raise Http404("No such provider.")
    return provider


def _connection(request, provider):
    return get_object_or_404(Connection, organization=request.organization, provider=_provider(provider))


def _message(exc):
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


@organization_required
def index(request):
    connections = {c.provider: c for c in Connection.objects.filter(organization=request.organization)}
    healths = {h.connection.provider: h for h in health.organization_health(request.organization)}
    cards = []
    for value, label in Provider.choices:
        connection = connections.get(value)
        cards.append(
            {
                "provider": value,
                "name": label,
                "connection": connection,
                "health": healths.get(value),
                "steps": services.wizard_steps(connection) if connection and connection.is_usable else [],
                "configured": bool(provider_config(value).client_id),
                # FreshBooks' line about its webhook callbacks ("Instant updates").
                "webhooks": webhook_state(connection) if connection and value == Provider.FRESHBOOKS else None,
            }
        )
    return render(
        request,
        "integrations/index.html",
        {"nav": "settings", "cards": cards, "can_manage": request.membership.can_manage_integrations},
    )


@organization_required
@require_POST
def connect(request, provider):
    """Connect or Reconnect: off to the provider's consent page."""
    require_manager(request)
    try:
        url = services.connection_begin(organization=request.organization, provider=_provider(provider), session=request.session)
    except ValidationError as exc:
        messages.error(request, _message(exc))
        return redirect("integrations:index")
    return redirect(url)


@organization_required
def callback(request, provider):
    """Where the provider sends the browser back after the consent page."""
    require_manager(request)
    try:
        outcome = services.connection_finish(
            organization=request.organization,
            provider=_provider(provider),
            user=request.user,
            session=request.session,
            params=request.GET.dict(),
        )
    except ValidationError as exc:
        messages.error(request, _message(exc))
        return redirect("integrations:index")
    if outcome.choices:
        return redirect("integrations:choose", provider=provider)
    return _connected(request, outcome.connection)


def _connected(request, connection):
    messages.success(request, f"{connection.provider_name} is connected to {connection.company_name or connection.company_id}.")
    if any(state == "" for _, state in services.wizard_steps(connection)):
        return redirect("integrations:wizard", provider=connection.provider)
    return redirect("integrations:index")


@organization_required
@require_http_methods(["GET", "POST"])
def choose(request, provider):
    """Xero (and any provider whose consent reaches several companies): the user picks one."""
    require_manager(request)
    choices = services.pending_choices(organization=request.organization, provider=_provider(provider), session=request.session)
    if not choices:
        messages.error(request, "This choice has expired. Start again with Connect.")
        return redirect("integrations:index")
    form = ChooseCompanyForm(request.POST or None, choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            connection = services.connection_choose(
                organization=request.organization,
                provider=provider,
                user=request.user,
                session=request.session,
                company_id=form.cleaned_data["company"],
            )
        except ValidationError as exc:
            form.add_error(None, _message(exc))
        else:
            return _connected(request, connection)
    return render(
        request, "integrations/choose.html", {"nav": "settings", "form": form, "provider_name": Provider(provider).label}
    )


@organization_required
@require_POST
def disconnect(request, provider):
    require_manager(request)
    connection = _connection(request, provider)
    form = DisconnectForm(request.POST)
    forget = form.is_valid() and form.cleaned_data["forget_records"]
    services.connection_disconnect(connection=connection, forget_records=forget)
    messages.success(request, f"{connection.provider_name} is disconnected.")
    return redirect("integrations:index")


@organization_required
@require_http_methods(["GET", "POST"])
def wizard(request, provider):
    """The post-connection wizard: run or skip each step; skipped steps can be run later."""
    connection = _connection(request, provider)
    if request.method == "POST":
        require_manager(request)
        step, action = request.POST.get("step", ""), request.POST.get("action", "")
        if not connection.is_usable:
            messages.error(request, connection.last_error or f"{connection.provider_name} is not connected.")
            return redirect("integrations:index")
        try:
            if action == "skip":
                services.wizard_step_mark(connection=connection, step=step, state="skipped")
            elif step == "customers":
                counts = services.customers_import(connection=connection)
                _report(request, "customers", counts)
            elif step == "items":
                counts = services.items_import(connection=connection)
                _report(request, "items", counts)
            elif step == "accounts":
                n = services.income_accounts_fetch(connection=connection)
                messages.success(request, f"{n} income account{'s' if n != 1 else ''} fetched from {connection.provider_name}.")
                return redirect("integrations:mapping", provider=provider)
            else:
                raise ValidationError("Unknown wizard step.")
        except ReconnectRequired:
            raise
        except (ValidationError, ProviderError) as exc:
            messages.error(request, _message(exc))
        return redirect("integrations:wizard", provider=provider)
    steps = [
        {"step": step, "label": STEP_LABELS[step], "state": state, "counts": (connection.wizard or {}).get(f"{step}_counts")}
        for step, state in services.wizard_steps(connection)
    ]
    return render(
        request,
        "integrations/wizard.html",
        {"nav": "settings", "connection": connection, "steps": steps, "can_manage": request.membership.can_manage_integrations},
    )


def _report(request, what, counts):
    messages.success(request, f"Imported {what}: {counts.created} created, {counts.matched} matched, {counts.skipped} skipped.")
    for problem in counts.problems:
        messages.warning(request, problem)
