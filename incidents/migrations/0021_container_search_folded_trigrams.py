"""Trigram indexes in which punctuation counts, and substring candidates already ranked.

pg_trgm makes trigrams of words only: it drops every character that is not a letter or a digit
(https://www.postgresql.org/docs/current/pgtrgm.html). A query such as `y-c` or `g-ap` then
keeps only trigrams of a word's edges (`  c`, `y  `), each found in a large share of the
containers, and the bitmap of migration 0005's indexes costs the length of those lists (30 ms
at 100,000 containers for `y-c`, whose 1,500 matches are 1 in 64). Here the indexed text is
`incidents_search_fold()` of the name and id: upper case, with every ASCII character that is
neither a letter nor a digit turned into `Q`, so that `y-c` is the single trigram `YQC`, and
`rders-cache-ap` has `SQC` and `EQA` across its hyphens. The fold is a function of each
character, so a name that contains the query has a fold that contains the query's fold: the
folded LIKE only finds candidates (with a few false ones, such as a real `YQC`), and the
query's own condition (`strpos` of the upper-cased texts, which needs no escaping) decides.

The probe of a common query reads pages spread over the table (`TABLESAMPLE SYSTEM`, with a
fixed seed, so a query answers the same containers until the table changes) rather than its
first pages, which miss matches bunched elsewhere (the ids `svc-04…` are a tenth of the table in
one stretch: the probe found none of them, then the trigram search ran as well).

The substring candidates function now takes the query itself and answers at most `wanted`
candidates, the first by the order in which searchContainers ranks substring matches (name key,
then id): the statement that calls it fetches those rows again, and no more of the others could
reach the answer. Migration 0005's indexes stay: the admin's container search (`icontains`)
uses them.

`search_fold` is a generated column: a later migration that changes the type of `name` or
`external_id` must drop it first (PostgreSQL refuses to alter a column it uses) and add it back.

SQLite has none of this: there `incidents.provider.rules` writes the queries itself.
"""

import string
from importlib import import_module

from django.db import migrations

#: Every ASCII character that is neither a letter nor a digit, space included: pg_trgm's
#: separators. Each becomes `Q`, so that a query made only of them (`***`, `%%%`) still has a
#: trigram and is not a scan of the whole index. `translate()` costs about 4 microseconds a
#: value, paid when a container is written: the search reads the stored fold.
SEPARATORS = " " + string.punctuation
#: The most containers the substring probe is meant to read before the trigram index.
PROBE_ROWS_MAX = 4_000
#: The fewest table pages it samples, and how many times the rows it is meant to read: the
#: number of pages SYSTEM sampling picks varies (0.5% of 2,118 pages gave 5 of them, not 10),
#: and a sample that holds too few matches costs the trigram search as well.
PROBE_PAGES_MIN = 32
PROBE_MARGIN = 1.5


def _literal(text: str) -> str:
    """`text` as an SQL string literal, `%` doubled for schema_editor.execute()."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def _fold_sql() -> str:
    return f"translate(upper(value), {_literal(SEPARATORS)}, {_literal('Q' * len(SEPARATORS))})"


FOLD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION incidents_search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT {_fold_sql()} $$
"""
DROP_FOLD_FUNCTION = "DROP FUNCTION IF EXISTS incidents_search_fold(text)"

#: The folded name and id, side by side, kept by PostgreSQL itself. Stored rather than an
#: expression index: the recheck of every candidate then reads it instead of folding the name
#: and id again (2.6 ms instead of 4 ms for the 1,375 candidates of `vc-04` at 100,000).
ADD_COLUMN = (
    'ALTER TABLE "incidents_container" ADD COLUMN "search_fold" text GENERATED ALWAYS AS '
    "(incidents_search_fold(name) || '|' || incidents_search_fold(external_id)) STORED"
)
DROP_COLUMN = 'ALTER TABLE "incidents_container" DROP COLUMN IF EXISTS "search_fold"'
INDEX = "incidents_container_fold_trgm"

#: The query's condition, exactly: the name or id contains it, in upper case ({upper}: the
#: query in upper case).
CONTAINS = "(strpos(upper({row}name), {upper}) > 0 OR strpos(upper({row}external_id), {upper}) > 0)"
#: A LIKE pattern that finds `folded` anywhere: its `\`, `%` and `_` stand for themselves (`%%`
#: is doubled for schema_editor.execute()).
LIKE_FOLDED = (
    "'%%' || replace(replace(replace(folded, '\\', '\\\\'), '%%', '\\%%'), '_', '\\_') || '%%'"
)
#: searchContainers' order within a rank.
RANK_ORDER = 'LOWER({row}name) COLLATE "C", {row}external_id COLLATE "C"'

#: The most trigrams of a query the index is asked for: rare ones, spread over it.
TRIGRAMS_MAX = 4

# GIN finds the containers that have every trigram asked for by taking the rarest one's and
# checking each against the posting list of every other, so a trigram found in most containers
# (`SVC` of `svc-352801`) costs nearly its whole list: 10 ms for `payments-api-us 513472` at
# 1,000,000 containers, against 0.5 ms for its four rarest trigrams. How common each trigram is
# comes from ANALYZE's histogram of `search_fold` (pg_stats, 101 containers spread over the
# table). After the rarest, each next one is the trigram that covers the most characters of the
# query not yet covered: three trigrams of one word (`KER`, `ORK`, `QWO` of `worker`) found
# `orders-worker` as often as `payments-worker`. A trigram in half the sampled containers or
# more is not worth its posting list and is never added. Each is asked for as a LIKE of its own.
# Without statistics the whole fold is.
# The statement runs through EXECUTE … USING, planned for its values: the query's upper case
# computed once rather than for every row read, and the workspace ids a constant array, which
# PostgreSQL looks up in a hash table.
TRIGRAM_FUNCTION = f"""
CREATE FUNCTION incidents_container_trigram_candidates(
    query text, workspace_ids bigint[], candidates integer, wanted integer
) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE
SET enable_seqscan = off
SET enable_indexscan = off
AS $$
DECLARE
    folded text := incidents_search_fold(query);
    sample text[];
    trigrams text[];
    places integer[];
    counts integer[];
    chosen text[] := '{{}}';
    covered boolean[] := array_fill(false, ARRAY[length(folded)]);
    best integer;
    best_gain integer;
    gain integer;
    conditions text;
BEGIN
    SELECT s.histogram_bounds::text::text[] INTO sample FROM pg_stats AS s
    WHERE s.schemaname = current_schema() AND s.tablename = 'incidents_container'
      AND s.attname = 'search_fold';
    IF sample IS NOT NULL THEN
        -- Each trigram of the fold (letters and digits only: pg_trgm's) at its first place,
        -- rarest first.
        SELECT array_agg(t ORDER BY n, i), array_agg(i ORDER BY n, i), array_agg(n ORDER BY n, i)
        INTO trigrams, places, counts
        FROM (
            SELECT DISTINCT ON (t) t, i,
                (SELECT count(*) FROM unnest(sample) AS b WHERE strpos(b, t) > 0) AS n
            FROM (
                SELECT substr(folded, i, 3) AS t, i FROM generate_series(1, length(folded) - 2) AS i
            ) AS g
            WHERE t ~ '^[A-Z0-9]{{3}}$'
            ORDER BY t, i
        ) AS counted;
        -- The rarest first; then, among those in fewer than half the sampled containers, the
        -- one that covers the most characters not yet covered (the rarest of those).
        FOR step IN 1 .. {TRIGRAMS_MAX} LOOP
            best := 0;
            best_gain := 0;
            FOR k IN 1 .. coalesce(cardinality(trigrams), 0) LOOP
                CONTINUE WHEN trigrams[k] = ANY(chosen);
                CONTINUE WHEN step > 1 AND 2 * counts[k] >= cardinality(sample);
                gain := (NOT covered[places[k]])::integer + (NOT covered[places[k] + 1])::integer
                    + (NOT covered[places[k] + 2])::integer;
                IF gain > best_gain THEN
                    best := k;
                    best_gain := gain;
                END IF;
            END LOOP;
            EXIT WHEN best = 0;
            chosen := chosen || trigrams[best];
            covered[places[best]] := true;
            covered[places[best] + 1] := true;
            covered[places[best] + 2] := true;
        END LOOP;
        SELECT string_agg(format('search_fold LIKE %%L', '%%' || t || '%%'), ' AND ')
        INTO conditions FROM unnest(chosen) AS t;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT id FROM ('
        '    SELECT id, name, external_id FROM incidents_container'
        '    WHERE ' || coalesce(conditions, format('search_fold LIKE %%L', {LIKE_FOLDED}))
        || '  AND {CONTAINS.format(row="", upper="$1")}'
        '      AND workspace_id + 0 = ANY($2)'
        '    LIMIT $3'
        ') AS found ORDER BY {RANK_ORDER.format(row="")} LIMIT $4'
    USING upper(query), workspace_ids, candidates, wanted;
END
$$
"""  # noqa: S608 (fixed text: values are bound, or quoted by format())
DROP_TRIGRAM_FUNCTION = (
    "DROP FUNCTION IF EXISTS "
    "incidents_container_trigram_candidates(text, bigint[], integer, integer)"
)

# `%%L` (format()'s quoted literal) is doubled: schema_editor.execute() interpolates.
CANDIDATES_FUNCTION = f"""
CREATE FUNCTION incidents_container_substring_candidates(
    query text, workspace_ids bigint[], candidates integer, wanted integer
) RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE  -- it runs EXPLAIN, which a STABLE function may not
AS $$
DECLARE
    fold text := incidents_search_fold(query);
    pattern text := {LIKE_FOLDED.replace("folded", "fold")};
    sample text[];
    total float8;
    pages float8;
    plan json;
    expected float8;
    probe float8;
    found bigint[];
BEGIN
    SELECT reltuples, relpages INTO total, pages
    FROM pg_class WHERE oid = 'incidents_container'::regclass;
    SELECT s.histogram_bounds::text::text[] INTO sample FROM pg_stats AS s
    WHERE s.schemaname = current_schema() AND s.tablename = 'incidents_container'
      AND s.attname = 'search_fold';
    -- The planner estimates the LIKE from the same histogram. If too few of its values contain
    -- the fold for a probe whatever the workspaces, the EXPLAIN is not worth its time.
    IF total > 0 AND (
        sample IS NULL OR (SELECT count(*) FROM unnest(sample) AS b WHERE strpos(b, fold) > 0)
            * {PROBE_ROWS_MAX} >= 2 * wanted * cardinality(sample)
    ) THEN
        EXECUTE format(
            'EXPLAIN (FORMAT JSON) SELECT 1 FROM incidents_container WHERE '
            'search_fold LIKE %%L AND workspace_id = ANY(%%L::bigint[])',
            pattern, workspace_ids
        ) INTO plan;
        expected := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
        probe := ceil(2 * wanted * total / greatest(expected, 1));
        IF probe <= {PROBE_ROWS_MAX} THEN
            SELECT array_agg(p.id ORDER BY {RANK_ORDER.format(row="p.")}) INTO found FROM (
                SELECT c.id, c.name, c.external_id FROM incidents_container AS c
                TABLESAMPLE SYSTEM (least(100, greatest(
                    100 * {PROBE_MARGIN} * probe / total, 100 * {PROBE_PAGES_MIN} / greatest(pages, 1)
                ))) REPEATABLE (0)
                WHERE c.search_fold LIKE pattern  -- the stored fold first: a quarter the cost
                  AND {CONTAINS.format(row="c.", upper="upper(query)")}
                  AND c.workspace_id = ANY(workspace_ids)
                LIMIT candidates
            ) AS p;
            IF coalesce(cardinality(found), 0) >= wanted THEN
                RETURN QUERY SELECT unnest(found[1:wanted]);
                RETURN;
            END IF;
        END IF;
    END IF;
    RETURN QUERY SELECT incidents_container_trigram_candidates(
        query, workspace_ids, candidates, wanted
    );
END
$$
"""  # noqa: S608 (fixed text: values are bound, or quoted by format())
DROP_CANDIDATES_FUNCTION = (
    "DROP FUNCTION IF EXISTS "
    "incidents_container_substring_candidates(text, bigint[], integer, integer)"
)
#: Migration 0018's functions, which took a LIKE pattern and answered every candidate found.
DROP_PREVIOUS_TRIGRAM_FUNCTION = (
    "DROP FUNCTION IF EXISTS incidents_container_trigram_candidates(text, bigint[], integer)"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FOLD_FUNCTION)
    schema_editor.execute(ADD_COLUMN)
    schema_editor.execute(
        f'CREATE INDEX "{INDEX}" ON "incidents_container" USING gin (search_fold gin_trgm_ops)'
    )
    schema_editor.execute(DROP_CANDIDATES_FUNCTION)
    schema_editor.execute(DROP_PREVIOUS_TRIGRAM_FUNCTION)
    schema_editor.execute(TRIGRAM_FUNCTION)
    schema_editor.execute(CANDIDATES_FUNCTION)
    schema_editor.execute('ANALYZE "incidents_container"')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP_CANDIDATES_FUNCTION)
    schema_editor.execute(DROP_TRIGRAM_FUNCTION)
    schema_editor.execute(DROP_COLUMN)  # and its index
    schema_editor.execute(DROP_FOLD_FUNCTION)
    functions = import_module("incidents.migrations.0018_container_search_functions")
    schema_editor.execute(functions.TRIGRAM_FUNCTION)
    schema_editor.execute(functions.CANDIDATES_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0020_entity_sync_flags_in_place")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
