//! Any generated record written as CSV reads back identically; arbitrary bytes
//! never panic the reader.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use didww_exports_core::amount::Amount;
use didww_exports_core::cdr::{CdrReader, INBOUND_HEADER};
use proptest::prelude::*;

fn time() -> impl Strategy<Value = Option<DateTime<Utc>>> {
    prop::option::of((0i64..4_102_444_800).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap()))
}

fn text() -> impl Strategy<Value = Option<String>> {
    // Commas, quotes and newlines included: the writer must quote them.
    prop::option::of("[a-zA-Z0-9 ,\"\n:@.+-]{1,20}")
}

fn amount() -> impl Strategy<Value = Option<Amount>> {
    prop::option::of((any::<i64>(), 0u8..6).prop_map(|(u, s)| Amount::new(i128::from(u), s)))
}

#[derive(Debug, Clone)]
struct Row {
    times: [Option<DateTime<Utc>>; 3],
    texts: [Option<String>; 6],
    duration: Option<u64>,
    code: Option<u16>,
    amounts: [Option<Amount>; 4],
    extra: String,
}

fn row() -> impl Strategy<Value = Row> {
    (
        (time(), time(), time()),
        (text(), text(), text(), text(), text(), text()),
        prop::option::of(0u64..10_000_000),
        prop::option::of(any::<u16>()),
        (amount(), amount(), amount(), amount()),
        "[a-z ,]{0,10}",
    )
        .prop_map(
            |((a, b, c), (t0, t1, t2, t3, t4, t5), duration, code, (m0, m1, m2, m3), extra)| Row {
                times: [a, b, c],
                texts: [t0, t1, t2, t3, t4, t5],
                duration,
                code,
                amounts: [m0, m1, m2, m3],
                extra,
            },
        )
}

fn write(rows: &[Row]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = INBOUND_HEADER.to_vec();
    header.push("Future Column");
    w.write_record(&header).unwrap();
    for r in rows {
        let t = |x: &Option<DateTime<Utc>>| x.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default();
        let s = |x: &Option<String>| x.clone().unwrap_or_default();
        let a = |x: &Option<Amount>| x.map(|v| v.to_string()).unwrap_or_default();
        w.write_record([
            t(&r.times[0]),
            t(&r.times[1]),
            t(&r.times[2]),
            s(&r.texts[0]),
            s(&r.texts[1]),
            s(&r.texts[2]),
            r.duration.map(|d| d.to_string()).unwrap_or_default(),
            s(&r.texts[3]),
            r.code.map(|c| c.to_string()).unwrap_or_default(),
            s(&r.texts[4]),
            a(&r.amounts[0]),
            a(&r.amounts[1]),
            a(&r.amounts[2]),
            s(&r.texts[5]),
            a(&r.amounts[3]),
            r.extra.clone(),
        ])
        .unwrap();
    }
    w.into_inner().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn records_round_trip(rows in prop::collection::vec(row(), 0..20), gzip in any::<bool>()) {
        let mut bytes = write(&rows);
        if gzip {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).unwrap();
            bytes = e.finish().unwrap();
        }
        let records: Vec<_> = CdrReader::new(&bytes[..]).unwrap().records().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(records.len(), rows.len());
        for (r, g) in records.iter().zip(&rows) {
            prop_assert_eq!([r.start, r.connect, r.end], g.times);
            prop_assert_eq!(&r.source, &g.texts[0]);
            prop_assert_eq!(&r.did, &g.texts[1]);
            prop_assert_eq!(&r.destination, &g.texts[2]);
            prop_assert_eq!(r.duration_secs, g.duration);
            prop_assert_eq!(&r.disconnect_initiator, &g.texts[3]);
            prop_assert_eq!(r.disconnect_code, g.code);
            prop_assert_eq!(&r.response, &g.texts[4]);
            prop_assert_eq!(&r.customer_id, &g.texts[5]);
            let amounts: Vec<Option<Amount>> = r.amounts.iter().map(|(_, a)| *a).collect();
            prop_assert_eq!(amounts, g.amounts.to_vec());
            prop_assert_eq!(&r.other, &vec![("Future Column".to_owned(), g.extra.clone())]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048), gzip_magic in any::<bool>()) {
        let mut input = bytes;
        if gzip_magic {
            input.splice(0..0, [0x1f, 0x8b]);
        }
        if let Ok(mut reader) = CdrReader::new(&input[..]) {
            let mut n = 0;
            while let Some(row) = reader.next_row() {
                let _ = row.map(|r| r.to_record());
                n += 1;
                if n > 10_000 { break; }
            }
        }
    }

    #[test]
    fn arbitrary_fields_under_a_real_header_never_panic(fields in prop::collection::vec(prop::collection::vec("[ -~]{0,12}", 0..17), 0..10)) {
        let mut text = INBOUND_HEADER.join(",");
        for f in &fields {
            text.push('\n');
            text.push_str(&f.join(","));
        }
        let mut reader = CdrReader::new(text.as_bytes()).unwrap();
        while let Some(row) = reader.next_row() {
            if let Err(e) = row {
                prop_assert!(e.line >= 2, "{}", e);
            }
        }
    }
}
