//! A minimal WebREPL board in Rust for load tests and benchmarks: `Password: `, login, text
//! echo and the version request. (The Node virtual board runs real MicroPython but costs a
//! worker thread per board; hundreds of boards need something lighter.)

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

pub const PASSWORD: &str = "secret123";

/// A minimal WebREPL board for load tests: login, echo, version.
pub async fn test_board() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(s).await else {
                    return;
                };
                let _ = ws.send(Message::text("Password: ")).await;
                let mut logged = false;
                while let Some(Ok(m)) = ws.next().await {
                    match m {
                        Message::Text(t) if !logged => {
                            logged = t.as_str() == format!("{PASSWORD}\r");
                            let reply = if logged {
                                "\r\nWebREPL connected\r\n>>> "
                            } else {
                                "\r\nAccess denied\r\n"
                            };
                            let _ = ws.send(Message::text(reply)).await;
                        }
                        Message::Text(t) => {
                            let _ = ws.send(Message::text(t.as_str())).await;
                        }
                        Message::Binary(b) if b.len() == 82 && b[2] == 3 => {
                            let _ = ws.send(Message::binary(vec![1u8, 27, 0])).await;
                        }
                        Message::Close(_) => break,
                        _ => {}
                    }
                }
            });
        }
    });
    port
}
