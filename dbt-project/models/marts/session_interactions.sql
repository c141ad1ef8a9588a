{{
    config(
        materialized='incremental',
        unique_key='session_key',
        incremental_strategy='delete+insert'
    )
}}

{#-
  Incremental by session: when new events of a session arrive, all of that session's interactions
  are rebuilt (delete+insert on session_key), so positions stay right even for late events.
-#}

with events as (

    select * from {{ ref('stg_browsing_events') }}

),

interactions as (

    select *
    from events
    where product_action in ({{ sql_string_list(var('session_actions')) }})
        and product_sku is not null
    {% if is_incremental() %}
        and session_key in (
            select session_key
            from events
            where etl_timestamp > (select max(etl_timestamp) from {{ this }})
        )
    {% endif %}

)

select
    event_key,
    session_key,
    tenant,
    session_id,
    row_number() over (partition by session_key order by event_ms, event_key) as position,
    product_sku,
    product_action,
    event_ms,
    event_at,
    etl_timestamp

from interactions
