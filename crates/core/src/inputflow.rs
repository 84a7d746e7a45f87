//! How a serial board takes input it has no room for yet: lost (a UART) or held back by USB.
//!
//! MicroPython keeps a few hundred bytes of REPL input. Behind a USB–UART bridge chip (CP210x,
//! CH340, FTDI: most ESP32 and ESP8266 dev kits) bytes that arrive while that buffer is full are
//! lost, so every script goes in raw-paste windows (`crate::rawpaste`), a round trip per 128 bytes.
//! A board with native USB (RP2040/RP2350, ESP32-S2/S3/C3/C6, STM32 pyboards) moves bytes from its
//! USB stack into that buffer only while it has room and leaves the rest in the host (its endpoint
//! refuses packets until then): nothing is lost, so a script may go in one piece and the round
//! trips go. A port is told apart by its USB vendor id; an unknown one is treated as a UART.

/// What happens to input the board's buffer cannot take yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFlow {
    /// It is lost: scripts go a raw-paste window at a time (UARTs, unknown ports).
    #[default]
    Windowed,
    /// The board's USB stack holds it back: scripts go whole.
    HeldByUsb,
}

/// USB vendor ids of boards whose MicroPython serial port is the board's own USB (and the stack
/// that holds input back): MicroPython's own id (pyboards, generic builds), Raspberry Pi
/// (RP2040/RP2350), Espressif (ESP32-S2/S3 USB, ESP32-C3/C6/S3 USB-Serial-JTAG).
const NATIVE_USB_VENDORS: [(u16, &str); 3] = [
    (0xf055, "MicroPython"),
    (0x2e8a, "Raspberry Pi"),
    (0x303a, "Espressif"),
];

impl InputFlow {
    /// The flow of a port with USB vendor id `vendor` (`None`: not a USB port, or ids unknown).
    pub fn for_usb_vendor(vendor: Option<u16>) -> InputFlow {
        match vendor {
            Some(v) if NATIVE_USB_VENDORS.iter().any(|(id, _)| *id == v) => InputFlow::HeldByUsb,
            _ => InputFlow::Windowed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_usb_boards_hold_input_bridges_and_unknown_ports_lose_it() {
        for v in [0x2e8a, 0x303a, 0xf055] {
            assert_eq!(InputFlow::for_usb_vendor(Some(v)), InputFlow::HeldByUsb);
        }
        // CP210x, CH340/CH9102, FTDI, Prolific, an unknown id, no USB ids at all.
        for v in [
            Some(0x10c4),
            Some(0x1a86),
            Some(0x0403),
            Some(0x067b),
            Some(0x1234),
            None,
        ] {
            assert_eq!(InputFlow::for_usb_vendor(v), InputFlow::Windowed);
        }
    }
}
