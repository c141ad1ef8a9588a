{{
    config(
        materialized='incremental',
        unique_key='session_key',
        incremental_strategy='delete+insert'
    )
}}

with interactions as (

    select * from {{ ref('session_interactions') }}
    {% if is_incremental() %}
    where session_key in (
        select session_key
        from {{ ref('session_interactions') }}
        where etl_timestamp > (select max(last_loaded_at) from {{ this }})
    )
    {% endif %}

),

aggregated as (

    -- Grouped by session_key alone (tenant and session_id depend on it): the smallest group key keeps
    -- the aggregation of 2M sessions from 10M events inside DuckDB's 1 GB limit.
    select
        session_key,
        any_value(session_id) as session_id,
        any_value(tenant) as tenant,
        min(event_ms) as session_start_ms,
        {{ ordered_array_agg('product_sku', 'position') }} as items,
        count(*) as length,
        max(etl_timestamp) as last_loaded_at

    from interactions
    group by session_key

)

select
    session_key,
    session_id,
    tenant,
    session_start_ms,
    {{ epoch_ms_to_timestamp('session_start_ms') }} as session_start_at,
    cast({{ epoch_ms_to_timestamp('session_start_ms') }} as date) as session_date,
    items,
    length,
    last_loaded_at

from aggregated
