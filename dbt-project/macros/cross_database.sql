{#
  Dialect differences between Snowflake and DuckDB, one dispatched macro per idea.
  Each public macro dispatches to `<adapter>__<name>`, falling back to `default__<name>`.
#}

{# A JSON field of a raw_data object as text (VARIANT path on Snowflake, JSON on DuckDB). #}
{% macro json_text(column, field) -%}
  {{ adapter.dispatch('json_text', 'post_modern_stack')(column, field) }}
{%- endmacro %}

{% macro snowflake__json_text(column, field) -%}
  {{ column }}:{{ field }}::varchar
{%- endmacro %}

{% macro duckdb__json_text(column, field) -%}
  json_extract_string({{ column }}, '$.{{ field }}')
{%- endmacro %}

{# A JSON field as a 64-bit integer (epoch milliseconds). #}
{% macro json_bigint(column, field) -%}
  {{ adapter.dispatch('json_bigint', 'post_modern_stack')(column, field) }}
{%- endmacro %}

{% macro snowflake__json_bigint(column, field) -%}
  {{ column }}:{{ field }}::number(38, 0)
{%- endmacro %}

{% macro duckdb__json_bigint(column, field) -%}
  cast(json_extract({{ column }}, '$.{{ field }}') as bigint)
{%- endmacro %}

{# The values of a group as an array, in a given order. #}
{% macro ordered_array_agg(value, order_by) -%}
  {{ adapter.dispatch('ordered_array_agg', 'post_modern_stack')(value, order_by) }}
{%- endmacro %}

{% macro snowflake__ordered_array_agg(value, order_by) -%}
  array_agg({{ value }}) within group (order by {{ order_by }})
{%- endmacro %}

{% macro duckdb__ordered_array_agg(value, order_by) -%}
  array_agg({{ value }} order by {{ order_by }})
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

{# A dbt var as a quoted SQL string literal. #}
{% macro sql_string(value) -%}
  '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{# A list var as a comma-separated list of quoted SQL literals, for `in (...)`. #}
{% macro sql_string_list(values) -%}
  {%- for value in values -%}
    {{ sql_string(value) }}{% if not loop.last %}, {% endif %}
  {%- endfor -%}
{%- endmacro %}
