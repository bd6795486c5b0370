"""`python manage.py rotate_token_keys`: re-encrypt every stored token under the first key of
INTEGRATIONS_TOKEN_KEYS. Put the new key first, keep the old ones after it, run this, then remove the
old keys. Each credential is re-encrypted under its row lock, so a refresh running meanwhile is not lost."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations import crypto
from integrations.models import Credential


class Command(BaseCommand):
    help = "Re-encrypt every stored OAuth token under the first key of INTEGRATIONS_TOKEN_KEYS."

    def handle(self, *args, **options):
        done = 0
        for pk in Credential.objects.order_by("pk").values_list("pk", flat=True):
            with transaction.atomic():
                credential = Credential.objects.select_for_update().get(pk=pk)
                try:
                    credential.access_token_encrypted = crypto.rotate(credential.access_token_encrypted)
                    credential.refresh_token_encrypted = crypto.rotate(credential.refresh_token_encrypted)
                except crypto.TokenDecryptionFailed:
                    raise CommandError(
                        f"The tokens of credential {pk} cannot be decrypted with any configured key; "
                        "keep the old key in INTEGRATIONS_TOKEN_KEYS until this command succeeds."
                    ) from None
                credential.save(update_fields=["access_token_encrypted", "refresh_token_encrypted", "updated_at"])
                done += 1
        self.stdout.write(f"Re-encrypted the tokens of {done} connection(s) under the first key.")
