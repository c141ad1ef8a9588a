-- Every interaction comes after (or with) the one before it in its session, positions run 1..n
-- without gaps, and each session's length is its number of interactions.
with ordered as (

    select
        session_key,
        position,
        event_ms,
        lag(event_ms) over (partition by session_key order by position) as previous_event_ms,
        row_number() over (partition by session_key order by position) as expected_position

    from {{ ref('session_interactions') }}

),

out_of_order as (

    select session_key, 'event before the previous one' as problem
    from ordered
    where event_ms < previous_event_ms

    union all

    select session_key, 'position gap' as problem
    from ordered
    where position <> expected_position

),

wrong_length as (

    select sessions.session_key, 'length differs from interaction count' as problem
    from {{ ref('sessions') }} as sessions
    left join (
        select session_key, count(*) as interactions
        from {{ ref('session_interactions') }}
        group by session_key
    ) as counted on counted.session_key = sessions.session_key
    where counted.interactions is null or counted.interactions <> sessions.length

)

select * from out_of_order
union all
select * from wrong_length
