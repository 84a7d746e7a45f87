//! Time for the core: milliseconds from the page's monotonic clock (`performance.now()`).

/// Milliseconds since the page started; monotonic.
pub fn now_ms() -> u64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now) as u64
}
