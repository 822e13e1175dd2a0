//! Signing then verifying always holds; changing any one byte of the URL, the
//! key, a value or the signature makes verification fail.
#![allow(clippy::unwrap_used)]

use didww_exports_core::CallbackSecret;
use didww_exports_core::signature::{sign, verify};
use proptest::prelude::*;

fn url() -> impl Strategy<Value = String> {
    (
        "(http|https)",
        "[a-z]{1,10}\\.[a-z]{2,3}",
        prop::option::of(1u16..=u16::MAX),
        "(/[a-zA-Z0-9._~-]{0,8}){0,3}",
        prop::option::of("[a-z]{1,5}=[a-z0-9]{0,5}"),
    )
        .prop_map(|(scheme, host, port, path, query)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            format!("{scheme}://{host}{port}{path}{query}")
        })
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("[a-z_]{1,8}", "[ -~]{0,16}"), 1..5)
}

fn secret() -> impl Strategy<Value = String> {
    "[!-~]{1,40}"
}

/// Changes one byte of a printable string (spaces included) to another printable byte.
fn mutate(s: &str, index: usize, delta: u8) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let i = index % bytes.len();
    let b = bytes[i];
    // Any byte (a space included) maps to a printable byte in '!'..='~'.
    let offset = (u16::from(b.wrapping_sub(b'!')) + 1 + u16::from(delta % 93)) % 94;
    let mut new = b'!' + offset as u8;
    if new == b {
        new = if b == b'a' { b'b' } else { b'a' };
    }
    bytes[i] = new;
    String::from_utf8(bytes).unwrap()
}

proptest! {
    #[test]
    fn sign_then_verify_holds(key in secret(), url in url(), pairs in pairs()) {
        let secret = CallbackSecret::new(key).unwrap();
        let sig = sign(&secret, &url, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
        prop_assert_eq!(sig.len(), 40);
        prop_assert!(sig.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        prop_assert!(verify(&secret, &url, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), &sig));
    }

    #[test]
    fn any_changed_byte_fails(key in secret(), url in url(), pairs in pairs(), index in any::<usize>(), delta in any::<u8>(), which in 0usize..4) {
        let secret = CallbackSecret::new(key.clone()).unwrap();
        let view = |p: &Vec<(String, String)>| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
        let sig = sign(&secret, &url, view(&pairs)).unwrap();
        let (k2, url2, mut pairs2, sig2) = (key.clone(), url.clone(), pairs.clone(), sig.clone());
        let changed = match which {
            0 => {
                // The key.
                let k2 = mutate(&k2, index, delta);
                !verify(&CallbackSecret::new(k2).unwrap(), &url2, view(&pairs2), &sig2)
            }
            1 => {
                // The URL: a byte after "scheme://" (the scheme itself changes the default port,
                // which can keep the normalized URL identical only if the port was explicit).
                let start = url2.find("://").unwrap() + 3;
                let tail = mutate(&url2[start..], index, delta);
                let url3 = format!("{}{tail}", &url2[..start]);
                match didww_exports_core::signature::normalize_url(&url3) {
                    Ok(n) if n != didww_exports_core::signature::normalize_url(&url2).unwrap() => {
                        !verify(&secret, &url3, view(&pairs2), &sig2)
                    }
                    // Same normalized URL (e.g. ':443' spelled out), or no longer a URL: nothing to check.
                    _ => true,
                }
            }
            2 => {
                // A value (or a key when the value is empty).
                let i = index % pairs2.len();
                if pairs2[i].1.is_empty() {
                    pairs2[i].1.push('x');
                } else {
                    pairs2[i].1 = mutate(&pairs2[i].1, index / 7, delta);
                }
                !verify(&secret, &url2, view(&pairs2), &sig2)
            }
            _ => {
                // The signature: another hex digit at one position.
                let mut s = sig2.into_bytes();
                let i = index % s.len();
                s[i] = if s[i] == b'0' { b'1' } else { b'0' };
                !verify(&secret, &url2, view(&pairs2), &String::from_utf8(s).unwrap())
            }
        };
        prop_assert!(changed, "a change in part {} still verified", which);
    }
}
