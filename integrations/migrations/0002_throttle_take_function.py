"""The shared throttle's decision as one PostgreSQL function, so that taking a request slot is one round
trip instead of a five-statement transaction (integrations.sync.throttle.DatabaseStore); it also writes
the ends of the slots released since the caller's last call. Other databases keep the decision in
Python."""

from django.db import migrations

TAKE = """
CREATE OR REPLACE FUNCTION blueclerk_throttle_take(
    p_bucket bigint, p_kind text, p_now double precision, p_take boolean, p_max_in_flight integer,
    p_stale double precision, p_horizon double precision,
    p_limit_kinds text[], p_limit_counts integer[], p_limit_windows double precision[],
    p_ended bigint[], p_ended_at double precision[]
) RETURNS TABLE (wait double precision, slot_id bigint)
LANGUAGE plpgsql VOLATILE AS $$
-- Mirrors throttle._wait_for: penalty first, then requests in flight, then every sliding window that
-- applies to p_kind (its length already includes the slack). Each statement below sees what was
-- committed before it (READ COMMITTED, a volatile function), so after the bucket row's lock the
-- counts include the slot its previous holder took.
DECLARE
    penalized double precision;
    flying integer;
    used integer;
    oldest double precision;
    pause double precision := 0;
    taken bigint;
BEGIN
    -- Slots this process released since its last call (their ends are written here, not one by one).
    IF coalesce(array_length(p_ended, 1), 0) > 0 THEN
        UPDATE integrations_throttleslot AS s SET ended = e.at
          FROM unnest(p_ended, p_ended_at) AS e(id, at) WHERE s.id = e.id;
    END IF;
    SELECT penalized_until INTO penalized FROM integrations_throttlebucket WHERE id = p_bucket FOR UPDATE;
    IF penalized > p_now THEN
        RETURN QUERY SELECT penalized - p_now, NULL::bigint;
        RETURN;
    END IF;
    SELECT count(*) INTO flying FROM integrations_throttleslot
     WHERE bucket_id = p_bucket AND ended IS NULL AND started > p_now - p_stale;
    IF flying >= p_max_in_flight THEN
        RETURN QUERY SELECT 0.05::double precision, NULL::bigint;
        RETURN;
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_limit_kinds, 1), 0) LOOP
        IF p_limit_kinds[i] = 'any' OR p_limit_kinds[i] = p_kind THEN
            SELECT count(*), min(started) INTO used, oldest FROM integrations_throttleslot
             WHERE bucket_id = p_bucket AND started > p_now - p_limit_windows[i]
               AND (p_limit_kinds[i] = 'any' OR kind = p_limit_kinds[i]);
            IF used >= p_limit_counts[i] THEN
                pause := greatest(pause, coalesce(oldest, p_now) + p_limit_windows[i] - p_now, 0.05);
            END IF;
        END IF;
    END LOOP;
    IF pause > 0 OR NOT p_take THEN
        RETURN QUERY SELECT pause, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO integrations_throttleslot (bucket_id, kind, started) VALUES (p_bucket, p_kind, p_now)
    RETURNING id INTO taken;
    IF mod(taken, 200) = 0 THEN  -- now and then, forget what no window looks at any more
        DELETE FROM integrations_throttleslot WHERE bucket_id = p_bucket AND started < p_now - p_horizon;
    END IF;
    RETURN QUERY SELECT 0::double precision, taken;
END
$$;
"""

DROP = (
    "DROP FUNCTION IF EXISTS blueclerk_throttle_take(bigint, text, double precision, boolean, integer, double precision, "
    "double precision, text[], integer[], double precision[], bigint[], double precision[]);"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TAKE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
