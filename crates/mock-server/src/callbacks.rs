//! Signed completion callbacks, exactly as DIDWW sends them.

use std::sync::Arc;
use std::time::Duration;

use didww_exports_core::signature::{SIGNATURE_HEADER, callback_pairs, sign};
use didww_exports_core::{CallbackMethod, CallbackSecret, ExportId};

use crate::state::{AppState, CallbackRecord};

/// Calls the export's `callback_url` once it completes, after `delay`.
pub(crate) fn schedule(state: Arc<AppState>, id: ExportId, delay: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        send(&state, id).await;
    });
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn send(state: &AppState, id: ExportId) {
    let Some(stored) = state.get(&id) else { return };
    let Some(callback_url) = stored.export.callback_url.clone() else {
        return;
    };
    let method = stored.export.callback_method.clone().unwrap_or(CallbackMethod::Post);
    let secret: CallbackSecret = state
        .config
        .callback_secret
        .clone()
        .unwrap_or_else(|| CallbackSecret::from(state.config.api_key.clone()));
    let id_text = id.to_string();
    let payload = [("id", id_text.as_str()), ("type", "exports"), ("status", "completed")];
    let encoded = form(&payload);

    // GET: the payload joins the URL's query and is signed as the query pairs;
    // POST: the payload is the form body alone.
    let (url, pairs, body) = if method == CallbackMethod::Get {
        let (base, fragment) = match callback_url.split_once('#') {
            Some((b, f)) => (b.to_owned(), Some(f.to_owned())),
            None => (callback_url.clone(), None),
        };
        let sep = if base.contains('?') { '&' } else { '?' };
        let mut url = format!("{base}{sep}{encoded}");
        if let Some(f) = fragment {
            url.push('#');
            url.push_str(&f);
        }
        let pairs = callback_pairs("GET", &url, b"").unwrap_or_default();
        (url, pairs, None)
    } else {
        let pairs = payload
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        (callback_url.clone(), pairs, Some(encoded))
    };
    let signature = match sign(&secret, &url, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(s) => s,
        Err(e) => {
            state.record_callback(CallbackRecord {
                export_id: id_text,
                method: method.as_str().to_uppercase(),
                url,
                signature: String::new(),
                status: None,
                error: Some(e.to_string()),
            });
            return;
        }
    };
    // The fragment never travels over HTTP.
    let wire_url = url.split('#').next().unwrap_or(&url).to_owned();
    let request = match &body {
        None => state.http.get(&wire_url),
        Some(b) => state
            .http
            .post(&wire_url)
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(b.clone()),
    }
    .header(SIGNATURE_HEADER, &signature)
    .header(http::header::USER_AGENT, "didww-exports-mock callback");
    let (status, error) = match request.send().await {
        Ok(resp) => (Some(resp.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    state.record_callback(CallbackRecord {
        export_id: id_text,
        method: method.as_str().to_uppercase(),
        url,
        signature,
        status,
        error,
    });
}
