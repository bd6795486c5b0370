"""{% freshbooks_instant_updates connection %}: the FreshBooks card's line about webhook callbacks."""

from django import template

from ..services.freshbooks_webhooks import webhook_state

register = template.Library()


@register.inclusion_tag("integrations/_freshbooks_webhooks.html")
def freshbooks_instant_updates(connection):
    return {"webhooks": webhook_state(connection)}
