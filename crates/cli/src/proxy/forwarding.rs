//! Moving frames both ways for one session: board text re-framed as whole UTF-8 and merged,
//! get chunks read ahead and gathered, binary frames in order.

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use webrepl_core::getahead;
use webrepl_core::readahead::ReadAhead;
use webrepl_core::utf8::{prefix_at_boundary, Utf8Stream};

use crate::link::{self, Frame, Incoming};

/// Most bytes of one text message to the browser (merged board frames).
pub(super) const MAX_MESSAGE: usize = 64 * 1024;

/// While a get streams, its chunks (read ahead, three per proxy round trip) are gathered for at
/// most this long before they go to the browser as one message: a browser pays per message, and
/// a get of 1 MB is 4,096 chunks. The page parses the binary stream as a stream.
pub(super) const GET_MERGE: Duration = Duration::from_millis(3);
/// The most get bytes gathered into one browser message.
pub(super) const GET_MESSAGE: usize = 32 * 1024;

/// Board text that arrives within this long of the last text message to the browser waits
/// until this long after it, gathered into one message: while a board prints (tens of
/// thousands of frames a second) the browser gets one message per interval; text after a
/// quiet spell — a keystroke's echo — goes at once.
pub(super) const TEXT_MERGE: Duration = Duration::from_millis(3);

/// Moves frames both ways until one side closes. Returns (bytes up, bytes down, how it ended).
///
/// Board text is merged: all text decoded from one read of the board's socket, and whatever
/// else has already arrived, goes to the browser as one message (whole UTF-8, at most 64 KB),
/// in order with binary frames; while text keeps coming, at most one message per
/// [`TEXT_MERGE`]. A lone keystroke's echo goes out as soon as it is in.
pub(super) async fn forward<S>(
    browser: tokio_tungstenite::WebSocketStream<S>,
    mut reader: link::Reader,
    mut writer: link::Writer,
    read_ahead: usize,
) -> (u64, u64, String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // Three acks in flight to the board: the proxy's round trip paces a get a third as often.
    let mut ahead = ReadAhead::with_depth(read_ahead, getahead::MAX_DEPTH);
    let (mut to_browser, mut from_browser) = browser.split();
    let mut up = 0u64;
    let mut down = 0u64;
    let mut utf8 = Utf8Stream::new();
    let mut text = String::new();
    // Get chunks gathered for the browser, and when they must go.
    let mut bin: Vec<u8> = Vec::new();
    let mut bin_due: Option<tokio::time::Instant> = None;
    // Text gathered for the browser waits until `text_due`; when the last text message went.
    let mut text_due: Option<tokio::time::Instant> = None;
    let mut text_sent: Option<tokio::time::Instant> = None;
    let how = 'session: loop {
        let due = match (bin_due, text_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timer = async {
            match due {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = timer => {
                bin_due = None;
                if send_binary(&mut to_browser, &mut bin).await.is_err() {
                    break 'session "the browser went away".to_owned();
                }
                if text_due.take().is_some() {
                    text_sent = Some(tokio::time::Instant::now());
                    if send_text(&mut to_browser, &mut text).await.is_err() {
                        break 'session "the browser went away".to_owned();
                    }
                }
            },
            msg = from_browser.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    up += t.len() as u64;
                    let mut rest: &str = t.as_str();
                    while !rest.is_empty() {
                        let part = prefix_at_boundary(rest, 65535);
                        if writer.text(part.as_bytes()).await.is_err() { break; }
                        rest = &rest[part.len()..];
                    }
                }
                Some(Ok(Message::Binary(b))) => {
                    up += b.len() as u64;
                    // Acks the proxy already sent for the browser are dropped here.
                    let out = ahead.from_client(&b);
                    for part in out.chunks(65535) {
                        if writer.binary(part).await.is_err() { break; }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = writer.close().await;
                    // Let the board's close reply pass, briefly.
                    let _ = tokio::time::timeout(Duration::from_millis(500), reader.next()).await;
                    break "the browser closed".to_owned();
                }
                Some(Ok(_)) => {}
            },
            incoming = reader.next() => {
                let first = match incoming {
                    Ok(Incoming::Stalled) => {
                        // The board holds a payload until it sees our ACK: make one leave now.
                        let _ = writer.nudge();
                        continue;
                    }
                    Ok(Incoming::Frame(f)) => f,
                    Ok(Incoming::Dropped) | Err(_) => {
                        // The board dropped TCP (soft reset, failed get, …): drop the browser's
                        // link the same way, so the page sees what a direct connection shows.
                        utf8.finish(&mut text);
                        let _ = send_binary(&mut to_browser, &mut bin).await;
                        let _ = send_text(&mut to_browser, &mut text).await;
                        break "the board dropped the connection".to_owned();
                    }
                };
                // This frame and every whole frame already here, text merged. (A malformed
                // frame or the end of the stream comes out of `next()` on the next turn.)
                let mut next = Some(first);
                while let Some(frame) = next.take() {
                    match frame {
                        Frame::Text(bytes) => {
                            down += bytes.len() as u64;
                            // Never reorder: get bytes gathered before this text go first.
                            bin_due = None;
                            if send_binary(&mut to_browser, &mut bin).await.is_err() {
                                break 'session "the browser went away".to_owned();
                            }
                            utf8.decode(&bytes, &mut text);
                            if text.len() >= MAX_MESSAGE {
                                // Enough for one message: let the browser's side have a turn.
                                break;
                            }
                        }
                        Frame::Binary(b) => {
                            down += b.len() as u64;
                            // Never reorder: text gathered before this frame goes first.
                            text_due = None;
                            if send_text(&mut to_browser, &mut text).await.is_err() {
                                break 'session "the browser went away".to_owned();
                            }
                            // Ask for the next get chunks first, so they travel while this one
                            // is passed on (a get's end: the resync, whose reply is not passed).
                            let to_board = ahead.from_board(&b, &mut bin);
                            if !to_board.is_empty() {
                                let _ = writer.binary(&to_board).await;
                            }
                            if ahead.in_get() && bin.len() < GET_MESSAGE {
                                bin_due.get_or_insert_with(|| tokio::time::Instant::now() + GET_MERGE);
                            } else {
                                // Not a get, or its end (the final status): at once.
                                bin_due = None;
                                if send_binary(&mut to_browser, &mut bin).await.is_err() {
                                    break 'session "the browser went away".to_owned();
                                }
                            }
                        }
                        Frame::Close(..) => {
                            let _ = send_binary(&mut to_browser, &mut bin).await;
                            let _ = send_text(&mut to_browser, &mut text).await;
                            let _ = to_browser.send(Message::Close(None)).await;
                            break 'session "the board closed".to_owned();
                        }
                    }
                    next = reader.ready().unwrap_or(None);
                }
                if !text.is_empty() && text_due.is_none() {
                    let now = tokio::time::Instant::now();
                    match text_sent.map(|t| t + TEXT_MERGE) {
                        Some(wait) if wait > now && text.len() < MAX_MESSAGE => text_due = Some(wait),
                        _ => {
                            text_sent = Some(now);
                            if send_text(&mut to_browser, &mut text).await.is_err() {
                                break 'session "the browser went away".to_owned();
                            }
                        }
                    }
                } else if text.len() >= MAX_MESSAGE {
                    text_due = None;
                    text_sent = Some(tokio::time::Instant::now());
                    if send_text(&mut to_browser, &mut text).await.is_err() {
                        break 'session "the browser went away".to_owned();
                    }
                }
            },
        }
    };
    let how = match writer.nudges() {
        0 => how,
        n => format!("{how}; {n} ACK nudges to the board"),
    };
    (up, down, how)
}

/// Sends the get bytes gathered for the browser as one binary message, and clears them.
pub(super) async fn send_binary<W>(to_browser: &mut W, bin: &mut Vec<u8>) -> Result<(), ()>
where
    W: futures_util::Sink<Message> + Unpin,
{
    if bin.is_empty() {
        return Ok(());
    }
    let msg = Message::binary(std::mem::take(bin));
    to_browser.send(msg).await.map_err(|_| ())
}

/// Sends the text gathered for the browser (in parts of at most [`MAX_MESSAGE`] bytes that end
/// on character boundaries) and clears it.
pub(super) async fn send_text<W>(to_browser: &mut W, text: &mut String) -> Result<(), ()>
where
    W: futures_util::Sink<Message> + Unpin,
{
    let mut rest: &str = text;
    while !rest.is_empty() {
        let part = prefix_at_boundary(rest, MAX_MESSAGE);
        to_browser
            .send(Message::text(part.to_owned()))
            .await
            .map_err(|_| ())?;
        rest = &rest[part.len()..];
    }
    text.clear();
    Ok(())
}
