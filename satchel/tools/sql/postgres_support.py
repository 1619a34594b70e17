"""SQL functions the PostgreSQL dialect calls, created once per schema by the adapter.

They give PostgreSQL the few SQLite behaviours that PocketBase's filter semantics lean on:

- `satchel_key(x)`: a text key ordering values of mixed types the way SQLite compares them
  (NULL < numbers < text; booleans are the numbers 0/1, JSON values their SQL value). A comparison
  between two different types (a number field against '' or a JSON value against a string) is made
  on these keys, so it gives SQLite's answer where PostgreSQL would refuse the types.
- `satchel_num(x)`: SQLite's numeric conversion of text (the longest numeric prefix, else 0);
  `satchel_strict_num(x)` the conversion of SQLite's math functions (a well-formed number, else NULL).
- `satchel_numeric_key(x)`: the key of text after SQLite's NUMERIC affinity (a well-formed number
  becomes that number, anything else stays text), for text compared with a numeric column;
  `satchel_text_key(x)` the key of a JSON value after TEXT affinity (compared with a text column).
- `satchel_json_value(x, path)`: the value at `path` of a JSON column, or of text that may or may
  not hold JSON (plain text is its own JSON string), as SQLite's JSON_EXTRACT over either.
- `satchel_json_array(x)` / `satchel_array_length(x)`: a multi-valued column as a JSON array (a
  scalar is an array of one) and its item count ('' and NULL count none).
- `satchel_strftime(format, time, modifiers...)`: SQLite's strftime for PocketBase's `strftime()`.
- `satchel_real_text(x)`: a number as SQLite turns a stored one into text (an integral value is
  an INTEGER there, '5'; any other a REAL, printed "%!.15g" by `satchel_g15`: '2.5', '1.0e+20').
- `satchel_json_text(x)`: JSON as SQLite holds it, compact (`["a","b"]`, not jsonb's `["a", "b"]`);
  `satchel_value_text(x)` the text of JSON_EXTRACT's SQL value (strings unquoted, true is '1').
- `satchel_acos(x)`: NULL outside [-1, 1] as in SQLite (PostgreSQL raises), for geoDistance.

Python computes the same keys for bound values (`key_of`), so a constant side costs no call.
"""

from __future__ import annotations

import re
import struct
from typing import Any

VERSION = 8
"""Bumped whenever a definition below changes, so running schemas are updated once."""

NUMERIC_TEXT = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")
"""Text SQLite turns into a number when compared with a numeric column (its affinity rule)."""

_SIGN = 1 << 63
_MASK = (1 << 64) - 1


def number_key(value: float) -> str:
    """The order-preserving text key of a number: its IEEE bits, sign-flipped, in hex."""
    bits = struct.unpack(">Q", struct.pack(">d", float(value) + 0.0))[0]
    bits = bits | _SIGN if not bits & _SIGN else ~bits & _MASK
    return f"n{bits:016x}"


def key_of(value: Any) -> str | None:
    """`satchel_key` of a bound value, computed here (None stays NULL)."""
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return number_key(float(value))
    return "t" + str(value)


FUNCTIONS = r"""
SET LOCAL check_function_bodies = off;

CREATE OR REPLACE FUNCTION satchel_key(x double precision) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT 'n' || CASE
    WHEN b >= 0 THEN to_hex(b | (-9223372036854775807 - 1))
    ELSE lpad(to_hex(~b), 16, '0')
  END
  FROM (SELECT ('x' || encode(float8send(x + 0.0), 'hex'))::bit(64)::bigint AS b) AS bits
$f$;

CREATE OR REPLACE FUNCTION satchel_key(x bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT satchel_key(x::double precision) $f$;

CREATE OR REPLACE FUNCTION satchel_key(x boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT satchel_key(x::int::double precision) $f$;

CREATE OR REPLACE FUNCTION satchel_key(x text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT 't' || x $f$;

CREATE OR REPLACE FUNCTION satchel_key(x jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE jsonb_typeof(x)
    WHEN 'number' THEN satchel_key((x)::double precision)
    WHEN 'string' THEN 't' || (x #>> '{}')
    WHEN 'boolean' THEN satchel_key((x)::boolean)
    WHEN 'null' THEN NULL
    ELSE 't' || satchel_json_text(x)
  END
$f$;

CREATE OR REPLACE FUNCTION satchel_numeric_key(x text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN x ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$'
    THEN satchel_key(x::double precision) ELSE 't' || x END
$f$;

CREATE OR REPLACE FUNCTION satchel_numeric_key(x jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE jsonb_typeof(x)
    WHEN 'string' THEN satchel_numeric_key(x #>> '{}')
    ELSE satchel_key(x)
  END
$f$;

CREATE OR REPLACE FUNCTION satchel_text_key(x jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT 't' || satchel_value_text(x) $f$;

CREATE OR REPLACE FUNCTION satchel_strict_num(x text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN x ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$'
    THEN x::double precision END
$f$;

CREATE OR REPLACE FUNCTION satchel_strict_num(x jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE jsonb_typeof(x)
    WHEN 'number' THEN (x)::double precision
    WHEN 'boolean' THEN (x)::boolean::int
    WHEN 'string' THEN satchel_strict_num(x #>> '{}')
  END
$f$;

CREATE OR REPLACE FUNCTION satchel_g15(x double precision) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $f$
DECLARE
  e int;
  m numeric;
  t text;
BEGIN
  IF x IS NULL THEN
    RETURN NULL;
  ELSIF x = 0 THEN
    RETURN '0.0';
  ELSIF x = 'Infinity'::double precision THEN
    RETURN 'Inf';
  ELSIF x = '-Infinity'::double precision THEN
    RETURN '-Inf';
  END IF;
  e := floor(log(abs(x::numeric)));
  m := round(x::numeric / (10::numeric ^ e), 14);
  IF abs(m) >= 10 THEN
    m := round(m / 10, 14);
    e := e + 1;
  END IF;
  IF e < -4 OR e >= 15 THEN
    t := rtrim(rtrim(m::text, '0'), '.');
    IF position('.' IN t) = 0 THEN
      t := t || '.0';
    END IF;
    RETURN t || 'e' || CASE WHEN e < 0 THEN '-' ELSE '+' END || lpad(abs(e)::text, 2, '0');
  END IF;
  t := round(x::numeric, greatest(14 - e, 0))::text;
  IF position('.' IN t) > 0 THEN
    t := rtrim(rtrim(t, '0'), '.');
  END IF;
  IF position('.' IN t) = 0 THEN
    t := t || '.0';
  END IF;
  RETURN t;
END
$f$;

CREATE OR REPLACE FUNCTION satchel_real_text(x double precision) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN x = trunc(x) AND abs(x) < 9.2e18 THEN (x::bigint)::text ELSE satchel_g15(x) END
$f$;

CREATE OR REPLACE FUNCTION satchel_json_text(x jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE jsonb_typeof(x)
    WHEN 'array' THEN '[' || COALESCE((
      SELECT string_agg(satchel_json_text(e), ',' ORDER BY i) FROM jsonb_array_elements(x) WITH ORDINALITY AS a(e, i)
    ), '') || ']'
    WHEN 'object' THEN '{' || COALESCE((
      SELECT string_agg(to_json(k)::text || ':' || satchel_json_text(v), ',') FROM jsonb_each(x) AS o(k, v)
    ), '') || '}'
    ELSE x::text
  END
$f$;

CREATE OR REPLACE FUNCTION satchel_value_text(x jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE jsonb_typeof(x)
    WHEN 'null' THEN NULL
    WHEN 'string' THEN x #>> '{}'
    WHEN 'boolean' THEN CASE WHEN (x)::boolean THEN '1' ELSE '0' END
    WHEN 'number' THEN CASE WHEN x::text ~ '[.eE]' THEN satchel_g15((x)::double precision) ELSE x::text END
    ELSE satchel_json_text(x)
  END
$f$;

CREATE OR REPLACE FUNCTION satchel_num(x text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT COALESCE(
    (substring(x FROM '^\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)'))::double precision,
    CASE WHEN x IS NULL THEN NULL ELSE 0 END)
$f$;

CREATE OR REPLACE FUNCTION satchel_num(x jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE jsonb_typeof(x)
    WHEN 'number' THEN (x)::double precision
    WHEN 'boolean' THEN (x)::boolean::int
    WHEN 'string' THEN satchel_num(x #>> '{}')
    WHEN 'null' THEN NULL
    ELSE 0
  END
$f$;

CREATE OR REPLACE FUNCTION satchel_try_jsonb(x text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $f$
BEGIN
  RETURN x::jsonb;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$f$;

CREATE OR REPLACE FUNCTION satchel_as_jsonb(x text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN x IS NULL THEN NULL
    WHEN x ~ '^\s*[\[{"0-9tfn-]' THEN satchel_try_jsonb(x)
  END
$f$;

CREATE OR REPLACE FUNCTION satchel_json_value(x jsonb, path text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT x #> path $f$;

CREATE OR REPLACE FUNCTION satchel_json_value(x text, path text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN j IS NOT NULL THEN j #> path
    WHEN cardinality(path) = 0 THEN to_jsonb(x)
  END
  FROM (SELECT satchel_as_jsonb(x) AS j) AS parsed
$f$;

CREATE OR REPLACE FUNCTION satchel_json_value(x double precision, path text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN cardinality(path) = 0 THEN to_jsonb(x) END
$f$;

CREATE OR REPLACE FUNCTION satchel_json_value(x boolean, path text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN cardinality(path) = 0 THEN to_jsonb(x::int) END
$f$;

CREATE OR REPLACE FUNCTION satchel_json_array(x jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN jsonb_typeof(x) = 'array' THEN x ELSE jsonb_build_array(x) END
$f$;

CREATE OR REPLACE FUNCTION satchel_json_array(x text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN jsonb_typeof(j) = 'array' THEN j ELSE jsonb_build_array(x) END
  FROM (SELECT CASE WHEN x ~ '^\s*\[' THEN satchel_try_jsonb(x) END AS j) AS parsed
$f$;

CREATE OR REPLACE FUNCTION satchel_array_length(x jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN x IS NULL THEN 0
    WHEN jsonb_typeof(x) = 'array' THEN jsonb_array_length(x)
    WHEN x = '""'::jsonb THEN 0
    ELSE 1 END
$f$;

CREATE OR REPLACE FUNCTION satchel_array_length(x text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN x IS NULL OR x = '' THEN 0
    ELSE jsonb_array_length(satchel_json_array(x)) END
$f$;

CREATE OR REPLACE FUNCTION satchel_acos(x double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN x BETWEEN -1 AND 1 THEN acos(x) END
$f$;

CREATE OR REPLACE FUNCTION satchel_time(val text, mods text[]) RETURNS timestamp
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $f$
DECLARE
  t timestamp;
  m text;
  n double precision;
BEGIN
  IF val IS NULL THEN
    RETURN NULL;
  END IF;
  IF lower(trim(val)) = 'now' THEN
    t := now() AT TIME ZONE 'UTC';
  ELSIF val ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)\s*$' THEN
    n := val::double precision;
    IF 'unixepoch' = ANY (SELECT lower(trim(x)) FROM unnest(mods) AS x) THEN
      t := to_timestamp(n) AT TIME ZONE 'UTC';
    ELSE
      t := to_timestamp((n - 2440587.5) * 86400.0) AT TIME ZONE 'UTC';
    END IF;
  ELSIF val ~ '^\s*\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[-+]\d{2}:\d{2})?\s*$' THEN
    BEGIN
      t := val::timestamptz AT TIME ZONE 'UTC';
    EXCEPTION WHEN others THEN
      RETURN NULL;
    END;
  ELSE
    RETURN NULL;
  END IF;
  FOREACH m IN ARRAY mods LOOP
    m := lower(trim(m));
    IF m IN ('unixepoch', 'utc', 'localtime', 'auto', 'subsec', 'subsecond') THEN
      CONTINUE;
    ELSIF m ~ '^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+) +(year|month|day|hour|minute|second)s?$' THEN
      t := t + m::interval;
    ELSIF m = 'start of day' THEN
      t := date_trunc('day', t);
    ELSIF m = 'start of month' THEN
      t := date_trunc('month', t);
    ELSIF m = 'start of year' THEN
      t := date_trunc('year', t);
    ELSIF m ~ '^weekday [0-6]$' THEN
      t := t + make_interval(days => ((substr(m, 9)::int - extract(dow FROM t)::int + 7) % 7));
    ELSE
      RETURN NULL;
    END IF;
  END LOOP;
  RETURN t;
END
$f$;

CREATE OR REPLACE FUNCTION satchel_strftime(fmt text, val text, VARIADIC mods text[]) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $f$
DECLARE
  t timestamp := satchel_time(val, mods);
  out text := '';
  i int := 1;
  c text;
  piece text;
BEGIN
  IF t IS NULL OR fmt IS NULL THEN
    RETURN NULL;
  END IF;
  WHILE i <= length(fmt) LOOP
    c := substr(fmt, i, 1);
    IF c <> '%' THEN
      out := out || c;
    ELSE
      i := i + 1;
      c := substr(fmt, i, 1);
      piece := CASE c
        WHEN 'd' THEN to_char(t, 'DD')
        WHEN 'e' THEN lpad(extract(day FROM t)::int::text, 2, ' ')
        WHEN 'f' THEN to_char(t, 'SS.MS')
        WHEN 'F' THEN to_char(t, 'YYYY-MM-DD')
        WHEN 'H' THEN to_char(t, 'HH24')
        WHEN 'I' THEN to_char(t, 'HH12')
        WHEN 'j' THEN to_char(t, 'DDD')
        WHEN 'J' THEN (extract(epoch FROM t) / 86400.0 + 2440587.5)::text
        WHEN 'k' THEN lpad(extract(hour FROM t)::int::text, 2, ' ')
        WHEN 'm' THEN to_char(t, 'MM')
        WHEN 'M' THEN to_char(t, 'MI')
        WHEN 'p' THEN to_char(t, 'AM')
        WHEN 'P' THEN to_char(t, 'am')
        WHEN 'R' THEN to_char(t, 'HH24:MI')
        WHEN 's' THEN floor(extract(epoch FROM t))::bigint::text
        WHEN 'S' THEN to_char(t, 'SS')
        WHEN 'T' THEN to_char(t, 'HH24:MI:SS')
        WHEN 'u' THEN extract(isodow FROM t)::int::text
        WHEN 'w' THEN extract(dow FROM t)::int::text
        WHEN 'W' THEN lpad(((extract(doy FROM t)::int + 6 - ((extract(dow FROM t)::int + 6) % 7)) / 7)::text, 2, '0')
        WHEN 'Y' THEN to_char(t, 'YYYY')
        WHEN 'G' THEN to_char(t, 'IYYY')
        WHEN 'V' THEN to_char(t, 'IW')
        WHEN '%' THEN '%'
      END;
      IF piece IS NULL THEN
        RETURN NULL;
      END IF;
      out := out || piece;
    END IF;
    i := i + 1;
  END LOOP;
  RETURN out;
END
$f$;

CREATE OR REPLACE FUNCTION satchel_strftime(fmt text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $f$ SELECT satchel_strftime(fmt, 'now', VARIADIC '{}'::text[]) $f$;

CREATE OR REPLACE FUNCTION satchel_strftime(fmt text, val text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $f$ SELECT satchel_strftime(fmt, val, VARIADIC '{}'::text[]) $f$;
"""
