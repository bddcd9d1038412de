-- inert: untrusted text :x as a CSV field, like report/xlsx's csvText: a leading apostrophe when
-- a spreadsheet could take it for a formula (it starts with = + - @, tab or CR), and no CR
-- (encoding/csv with CRLF line ends drops CR). events_csv pastes it in for each text column.
replace(CASE WHEN left(coalesce(:x, ''), 1) IN ('=', '+', '-', '@', E'\t', E'\r') THEN '''' || :x ELSE coalesce(:x, '') END, E'\r', '')
