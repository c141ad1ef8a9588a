with source as (

    select * from {{ source('raw', 'events') }}

),

parsed as (

    select
        source.*,
        {{ parse_raw_data('raw_data') }} as event

    from source

),

renamed as (

    select
        etl_id,
        etl_timestamp,
        api_key as tenant,
        event_type,
        event_date,
        {{ raw_data_field('event', 'session_id', 'varchar') }} as session_id,
        -- SKUs arrive with stray whitespace and mixed case from some trackers; the catalog and the
        -- model vocabulary use the trimmed lower-case form.
        nullif(lower(trim({{ raw_data_field('event', 'product_sku', 'varchar') }})), '') as product_sku,
        nullif({{ raw_data_field('event', 'product_action', 'varchar') }}, '') as product_action,
        {{ raw_data_field('event', 'server_timestamp_epoch_ms', 'bigint') }} as event_ms,
        {{ raw_data_field('event', 'hashed_url', 'varchar') }} as hashed_url

    from parsed

),

keyed as (

    select
        -- What makes an event the same event across loads: who, when, what and on which product.
        md5(
            tenant || '|' || session_id || '|' || cast(event_ms as varchar) || '|' || event_type
            || '|' || coalesce(product_action, '') || '|' || coalesce(product_sku, '')
        ) as event_key,
        tenant || ':' || session_id as session_key,
        renamed.*

    from renamed

),

latest_load as (

    select *
    from keyed
    qualify row_number() over (partition by event_key order by etl_timestamp desc, etl_id desc) = 1

)

select
    event_key,
    session_key,
    tenant,
    session_id,
    event_type,
    product_action,
    product_sku,
    event_ms,
    {{ epoch_ms_to_timestamp('event_ms') }} as event_at,
    event_date,
    hashed_url,
    etl_id,
    etl_timestamp

from latest_load
