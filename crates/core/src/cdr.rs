//! The CDR file: a gzip-compressed CSV with a header row.
//!
//! Columns are found by header name, never by position. The only published
//! header is the inbound (`cdr_in`) one below; an older format began
//! `Date/Time (UTC),Source,DID,...`, and no outbound header is published.

/// The published header of inbound (`cdr_in`) exports, in DIDWW's order.
pub const INBOUND_HEADER: [&str; 15] = [
    "Date/Time Start (UTC)",
    "Date/Time Connect (UTC)",
    "Date/Time End (UTC)",
    "Source",
    "DID",
    "Destination",
    "Duration (secs)",
    "Disconnect Initiator",
    "Disconnect Code",
    "Response",
    "TollFree Amount (USD)",
    "Termination Amount (USD)",
    "Metered Channels Amount (USD)",
    "Customer ID",
    "Sell Amount (Points)",
];

/// The published sample row of an inbound export (an unanswered call).
pub const INBOUND_SAMPLE_ROW: &str = "2018-12-06 05:20:58,,,4,972397239159652,sip:972397239159652@didww.com,0,Destination,408,SIP transaction timeout,0.000,0.000,0.000,,0.000";

/// The time format of CDR files: `YYYY-MM-DD HH:MM:SS`, UTC.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
