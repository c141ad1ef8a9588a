{#- A view: it only filters the sessions table by this run's vars, so it costs nothing to rebuild. -#}
{{ config(materialized='view') }}

with sessions as (

    select * from {{ ref('sessions') }}

)

select
    session_key,
    session_id,
    tenant,
    session_start_ms,
    session_date,
    items,
    length

from sessions
where tenant = {{ sql_string(var('tenant')) }}
    and session_date >= cast({{ sql_string(var('window_start')) }} as date)
    and session_date <= cast({{ sql_string(var('window_end')) }} as date)
    and length >= {{ var('min_session_length') | int }}
