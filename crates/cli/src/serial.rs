//! A USB serial port as the session's byte stream: opened with the serialport crate, read and
//! written by one thread each, so the single-threaded runtime never blocks on the line.

use std::io::{Read, Write};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::mpsc;

/// Why a port could not be used; each names what to do.
#[derive(Debug, Error)]
pub enum PortError {
    #[error("{0}: no such serial port. Is the board plugged in? Its port is usually /dev/ttyACM0 or /dev/ttyUSB0 on Linux, /dev/cu.usbmodem… on macOS, COM3 or similar on Windows")]
    Missing(String),
    #[error("{0}: permission denied. On Linux add yourself to the dialout group (sudo usermod -aG dialout $USER, then log out and in again)")]
    Denied(String),
    #[error("{0}: the port is busy: another program has it open (mpremote, Thonny, a serial monitor, a browser tab); close it and try again")]
    Busy(String),
    #[error("{0}: cannot open the serial port: {1}")]
    Other(String, String),
    #[error("{0}: the serial port went away (board unplugged or reset?): {1}")]
    Lost(String, String),
}

/// The port's output side.
pub struct PortWriter {
    tx: Option<std_mpsc::Sender<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PortWriter {
    /// Queues bytes for the line (the writer thread sends them in order).
    pub fn send(&mut self, bytes: Vec<u8>) -> Result<(), ()> {
        match &self.tx {
            Some(tx) => tx.send(bytes).map_err(|_| ()),
            None => Err(()),
        }
    }

    /// Lets the writer thread send what is queued (Ctrl-B leaving the raw REPL …) and waits.
    pub fn close(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The port's input side: chunks as they are read; `None` when the port is gone.
pub struct PortReader {
    rx: mpsc::UnboundedReceiver<Result<Vec<u8>, String>>,
    pub name: String,
}

impl PortReader {
    pub async fn next(&mut self) -> Result<Vec<u8>, PortError> {
        match self.rx.recv().await {
            Some(Ok(b)) => Ok(b),
            Some(Err(e)) => Err(PortError::Lost(self.name.clone(), e)),
            None => Err(PortError::Lost(self.name.clone(), "closed".into())),
        }
    }
}

/// The USB vendor id of port `name`, where the system tells it (`None` for a UART, a
/// pseudo-terminal, or a port the system gives no ids for): it decides
/// [`webrepl_core::InputFlow`].
pub fn usb_vendor(name: &str) -> Option<u16> {
    #[cfg(target_os = "linux")]
    {
        usb_vendor_in(std::path::Path::new("/sys"), name)
    }
    #[cfg(not(target_os = "linux"))]
    {
        serialport::available_ports()
            .ok()?
            .into_iter()
            .find(|p| p.port_name == name)
            .and_then(|p| match p.port_type {
                serialport::SerialPortType::UsbPort(u) => Some(u.vid),
                _ => None,
            })
    }
}

/// Linux: port `name` (a device node, or a link to one such as /dev/serial/by-id/…) →
/// `SYS/class/tty/ttyACM0/device`, a USB interface (or a USB–serial port below one), whose USB
/// device a level or two up has `idVendor`.
#[cfg(any(target_os = "linux", test))]
fn usb_vendor_in(sys: &std::path::Path, name: &str) -> Option<u16> {
    let real = std::fs::canonicalize(name).ok()?;
    let tty = real.file_name()?.to_str()?.to_owned();
    let dev = std::fs::canonicalize(sys.join("class/tty").join(tty).join("device")).ok()?;
    dev.ancestors().take(4).find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("idVendor")).ok()?;
        u16::from_str_radix(text.trim(), 16).ok()
    })
}

/// Opens `name` at `baud` (8N1, no flow control), drops stale input, starts the threads.
pub fn open(name: &str, baud: u32) -> Result<(PortReader, PortWriter), PortError> {
    let port = serialport::new(name, baud)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::One)
        .flow_control(serialport::FlowControl::None)
        .timeout(Duration::from_millis(200))
        .open()
        .map_err(|e| classify(name, e))?;
    let _ = port.clear(serialport::ClearBuffer::Input);
    let mut reading = port
        .try_clone()
        .map_err(|e| PortError::Other(name.into(), e.to_string()))?;
    let mut writing = port;
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let (out_tx, out_rx) = std_mpsc::channel::<Vec<u8>>();
    let err_tx = in_tx.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reading.read(&mut buf) {
                Ok(0) => {}
                Ok(n) => {
                    if in_tx.send(Ok(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    if in_tx.is_closed() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = in_tx.send(Err(e.to_string()));
                    return;
                }
            }
        }
    });
    let thread = std::thread::spawn(move || {
        // No flush (tcdrain) per write: it waits until the line has sent everything, which on
        // a real USB or UART port holds the next write back by a frame or more. Written bytes
        // are the driver's already; only the last ones are drained, when the port closes.
        while let Ok(bytes) = out_rx.recv() {
            if let Err(e) = writing.write_all(&bytes) {
                let _ = err_tx.send(Err(e.to_string()));
                return;
            }
        }
        let _ = writing.flush();
    });
    Ok((
        PortReader {
            rx: in_rx,
            name: name.to_owned(),
        },
        PortWriter {
            tx: Some(out_tx),
            thread: Some(thread),
        },
    ))
}

fn classify(name: &str, e: serialport::Error) -> PortError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    match e.kind() {
        serialport::ErrorKind::NoDevice => PortError::Missing(name.into()),
        serialport::ErrorKind::Io(std::io::ErrorKind::NotFound) => PortError::Missing(name.into()),
        serialport::ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => {
            PortError::Denied(name.into())
        }
        _ if lower.contains("no such file") || lower.contains("cannot find") => {
            PortError::Missing(name.into())
        }
        _ if lower.contains("permission denied") || lower.contains("access is denied") => {
            PortError::Denied(name.into())
        }
        _ if lower.contains("busy") || lower.contains("in use") => PortError::Busy(name.into()),
        _ => PortError::Other(name.into(), text),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::usb_vendor_in;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    /// A sysfs tree as Linux lays it out for a Pico (cdc_acm: ttyACM0 under the interface) and
    /// a CP2102 (usb-serial: ttyUSB0 under a port under the interface), and the device nodes.
    fn tree(root: &Path) {
        let devices = root.join("sys/devices/pci0000:00/usb1");
        let acm = devices.join("1-1/1-1:1.0/tty/ttyACM0");
        let usb = devices.join("1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0");
        for d in [&acm, &usb] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(devices.join("1-1/idVendor"), "2e8a\n").expect("write");
        std::fs::write(devices.join("1-2/idVendor"), "10c4\n").expect("write");
        symlink(devices.join("1-1/1-1:1.0"), acm.join("device")).expect("link");
        symlink(devices.join("1-2/1-2:1.0/ttyUSB0"), usb.join("device")).expect("link");
        let class = root.join("sys/class/tty");
        std::fs::create_dir_all(&class).expect("mkdir");
        symlink(&acm, class.join("ttyACM0")).expect("link");
        symlink(&usb, class.join("ttyUSB0")).expect("link");
        let dev = root.join("dev");
        std::fs::create_dir_all(dev.join("serial/by-id")).expect("mkdir");
        for n in ["ttyACM0", "ttyUSB0", "ttyS0"] {
            std::fs::write(dev.join(n), "").expect("write");
        }
        symlink(
            dev.join("ttyACM0"),
            dev.join("serial/by-id/usb-MicroPython_Board-if00"),
        )
        .expect("link");
    }

    #[test]
    fn the_vendor_id_comes_from_the_ports_usb_device() {
        let root = std::env::temp_dir().join(format!("webrepl-sysfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        tree(&root);
        let sys = root.join("sys");
        let dev = |n: &str| root.join("dev").join(n).to_string_lossy().into_owned();
        assert_eq!(usb_vendor_in(&sys, &dev("ttyACM0")), Some(0x2e8a));
        assert_eq!(
            usb_vendor_in(&sys, &dev("serial/by-id/usb-MicroPython_Board-if00")),
            Some(0x2e8a)
        );
        assert_eq!(usb_vendor_in(&sys, &dev("ttyUSB0")), Some(0x10c4));
        // A built-in UART (no USB device above it), a missing port: no ids.
        assert_eq!(usb_vendor_in(&sys, &dev("ttyS0")), None);
        assert_eq!(usb_vendor_in(&sys, &dev("ttyACM9")), None);
        let _ = std::fs::remove_dir_all(&root);
    }
}
