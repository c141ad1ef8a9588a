{#
  Dialect differences between Snowflake and DuckDB, one dispatched macro per idea.
  Each public macro dispatches to `<adapter>__<name>`, falling back to `default__<name>`.
#}

{#
  The raw_data JSON object, parsed once per row. Snowflake's VARIANT is already parsed; DuckDB stores
  JSON text, and one json_transform into a struct costs a third of five separate path extractions.
#}
{% macro parse_raw_data(column) -%}
  {{ adapter.dispatch('parse_raw_data', 'post_modern_stack')(column) }}
{%- endmacro %}

{% macro snowflake__parse_raw_data(column) -%}
  {{ column }}
{%- endmacro %}

{% macro duckdb__parse_raw_data(column) -%}
  json_transform({{ column }}, '{"session_id": "VARCHAR", "product_sku": "VARCHAR", "product_action": "VARCHAR", "server_timestamp_epoch_ms": "BIGINT", "hashed_url": "VARCHAR"}')
{%- endmacro %}

{# One field of a parsed raw_data, as a SQL type (varchar, bigint). #}
{% macro raw_data_field(parsed, field, type) -%}
  {{ adapter.dispatch('raw_data_field', 'post_modern_stack')(parsed, field, type) }}
{%- endmacro %}

{% macro snowflake__raw_data_field(parsed, field, type) -%}
  {{ parsed }}:{{ field }}::{{ type }}
{%- endmacro %}

{% macro duckdb__raw_data_field(parsed, field, type) -%}
  cast({{ parsed }}.{{ field }} as {{ type }})
{%- endmacro %}

{# The values of a group as an array, in a given order. #}
{% macro ordered_array_agg(value, order_by) -%}
  {{ adapter.dispatch('ordered_array_agg', 'post_modern_stack')(value, order_by) }}
{%- endmacro %}

{% macro snowflake__ordered_array_agg(value, order_by) -%}
  array_agg({{ value }}) within group (order by {{ order_by }})
{%- endmacro %}

{#
  DuckDB buffers an ORDER BY aggregate's input per group in memory: on 10M events that ran out of a
  1 GB limit. Aggregating (key, value) structs is an ordinary list aggregate, and sorting each small
  list afterwards gives the same order (ties broken by value) three times faster.
#}
{% macro duckdb__ordered_array_agg(value, order_by) -%}
  list_transform(list_sort(array_agg({'k': {{ order_by }}, 'v': {{ value }}})), entry -> entry.v)
{%- endmacro %}

{# Epoch milliseconds (UTC) to a timestamp without time zone. #}
{% macro epoch_ms_to_timestamp(epoch_ms) -%}
  {{ adapter.dispatch('epoch_ms_to_timestamp', 'post_modern_stack')(epoch_ms) }}
{%- endmacro %}

{% macro snowflake__epoch_ms_to_timestamp(epoch_ms) -%}
  to_timestamp_ntz({{ epoch_ms }}, 3)
{%- endmacro %}

{% macro duckdb__epoch_ms_to_timestamp(epoch_ms) -%}
  epoch_ms(cast({{ epoch_ms }} as bigint))
{%- endmacro %}

{#
  A dbt var as a quoted SQL string literal. Snowflake reads backslash escapes inside single-quoted
  constants (https://docs.snowflake.com/en/sql-reference/data-types-text#escape-sequences-in-single-quoted-string-constants),
  so a value's backslashes are doubled there as well as its quotes: `\'` would otherwise end the literal.
  DuckDB, like standard SQL, treats a backslash as an ordinary character.
#}
{% macro sql_string(value) -%}
  {{ adapter.dispatch('sql_string', 'post_modern_stack')(value) }}
{%- endmacro %}

{% macro snowflake__sql_string(value) -%}
  '{{ value | string | replace("\\", "\\\\") | replace("'", "''") }}'
{%- endmacro %}

{% macro default__sql_string(value) -%}
  '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{# A list var as a comma-separated list of quoted SQL literals, for `in (...)`. #}
{% macro sql_string_list(values) -%}
  {%- for value in values -%}
    {{ sql_string(value) }}{% if not loop.last %}, {% endif %}
  {%- endfor -%}
{%- endmacro %}
