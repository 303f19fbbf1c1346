//! Raw TCP to the server, for tests of what a client that is not a well-behaved HTTP client
//! sends (slow, partial or malformed requests).

use std::io::ErrorKind;

use tokio::net::TcpStream;

/// Writes all of `bytes`; an error (the server hung up) is returned, not a panic.
pub async fn send(stream: &TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads what arrives, appending it to `into`: `Ok(0)` when the server closed.
pub async fn receive(stream: &TcpStream, into: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut buf = vec![0; 16 * 1024];
    loop {
        stream.readable().await?;
        match stream.try_read(&mut buf) {
            Ok(n) => {
                into.extend_from_slice(&buf[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}
