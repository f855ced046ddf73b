//! Making a socket call where an observer can see it, and hold it.

use std::{io, os::fd::RawFd, panic::Location};

use protocol::{Call, CallResult};

use super::Observer;
use crate::errno;

/// Makes one socket call, between the observer's `before` and `after`.
///
/// `before` may hold the call (that is how a session steps) or refuse it (a
/// session being reset); `after` sees what the call returned, described by
/// `describe` on success. A call interrupted by a signal is made again, as
/// the C library's callers do, and is reported once. The observer learns
/// the line of source that made the call: the nearest caller not itself
/// marked `#[track_caller]`.
#[track_caller]
pub(super) fn traced<T>(
    observer: &mut dyn Observer,
    fd: Option<RawFd>,
    call: Call,
    mut make: impl FnMut() -> io::Result<T>,
    describe: impl FnOnce(&T) -> CallResult,
) -> io::Result<T> {
    observer.before(fd, &call, Location::caller())?;
    let returned = loop {
        match make() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    let result = match &returned {
        Ok(value) => describe(value),
        Err(err) => error_result(err),
    };
    observer.after(fd, &call, &result);
    returned
}

/// A failed call as the event stream shows it.
pub fn error_result(err: &io::Error) -> CallResult {
    CallResult::Error {
        errno: errno::name(err).unwrap_or_default().to_owned(),
        message: errno::describe(err),
    }
}
