"""Webhook endpoints: verify, record once, enqueue a targeted pull, answer at once.

Providers give a few seconds (Xero 5 s) and retry on failure, so the view does no provider I/O: the
pull runs in a task. A bad or missing signature is answered 401 with an empty body and changes
nothing. A genuine delivery whose body is not in the shape the provider documents is answered 400
with {"detail": <what is wrong>} and changes nothing either (a 500 would be retried forever).
"""

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import webhooks

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook_receive(request, provider):
    try:
        delivery = webhooks.delivery_parse(provider=provider, body=request.body, headers=request.headers)
    except webhooks.WebhookRejected as exc:
        logger.info("webhook rejected: %s", exc)
        return HttpResponse(status=401)
    except webhooks.WebhookMalformed as exc:
        logger.warning("webhook refused: %s", exc)
        return JsonResponse({"detail": str(exc)}, status=400)
    work = webhooks.delivery_record(delivery=delivery)
    if delivery.verification:
        webhooks.enqueue_verification(account=delivery.verification["account"])
    for connection_id, changes in work.items():
        webhooks.enqueue_pull(connection_id=connection_id, changes=changes)
    return HttpResponse(status=200)
