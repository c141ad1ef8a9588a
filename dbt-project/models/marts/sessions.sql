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

)

select
    session_key,
    session_id,
    tenant,
    min(event_ms) as session_start_ms,
    min(event_at) as session_start_at,
    cast(min(event_at) as date) as session_date,
    {{ ordered_array_agg('product_sku', 'position') }} as items,
    count(*) as length,
    max(etl_timestamp) as last_loaded_at

from interactions
group by session_key, session_id, tenant
