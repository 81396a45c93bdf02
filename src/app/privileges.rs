//! `-Z USER`: once every input is open, become USER (its group only,
//! then its group, then the user). With a live capture, keep just
//! CAP_NET_RAW and CAP_NET_ADMIN across the change (as Wireshark's dumpcap
//! does: `PR_SET_KEEPCAPS`, then `capset`), so an interface that
//! disappears and comes back can be opened again; every other capability
//! goes.

use meetgraph::error::Error;

/// CAP_NET_RAW (13): opening a packet socket.
#[cfg(feature = "live")]
const NET_RAW: u32 = 1 << 13;
/// The capabilities kept with a live capture: CAP_NET_ADMIN (12) and
/// CAP_NET_RAW.
#[cfg(feature = "live")]
const KEPT: u32 = (1 << 12) | NET_RAW;

/// Becomes `user` (nothing without one); `live`: keep [`KEPT`].
#[cfg(feature = "live")]
pub fn relinquish(user: Option<&str>, live: bool) -> Result<(), Error> {
    use super::messages::warn;
    use nix::unistd::{User, setgid, setgroups, setuid};
    let Some(name) = user else { return Ok(()) };
    let failed =
        |step: Option<&'static str>, e: nix::Error| Error::Privileges { user: name.into(), step, source: Box::new(e) };
    let user = User::from_name(name)
        .map_err(|e| failed(None, e))?
        .ok_or_else(|| Error::Usage(format!("-Z {name}: no such user")))?;
    if nix::unistd::getuid() == user.uid {
        return Ok(());
    }
    let keep = live && nix::sys::prctl::set_keepcaps(true).is_ok();
    setgroups(&[user.gid]).map_err(|e| failed(Some("set groups"), e))?;
    setgid(user.gid).map_err(|e| failed(Some("set group"), e))?;
    setuid(user.uid).map_err(|e| failed(Some("set user"), e))?;
    if live {
        // CAP_NET_RAW alone opens a capture when CAP_NET_ADMIN was not
        // there to keep.
        let kept = if keep {
            set_capabilities(KEPT).or_else(|_| set_capabilities(NET_RAW))
        } else {
            Err(std::io::Error::other("PR_SET_KEEPCAPS refused"))
        };
        let _ = nix::sys::prctl::set_keepcaps(false);
        if let Err(e) = kept {
            warn(&format!(
                "-Z {name}: CAP_NET_RAW not kept ({e}): an interface that disappears cannot be opened again; \
                 restart meetgraph when it is back, or run it without -Z"
            ));
        }
    }
    Ok(())
}

/// This thread's effective and permitted capabilities become `set`
/// (inheritable none); threads started later inherit them.
#[cfg(feature = "live")]
fn set_capabilities(set: u32) -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.
    let mut header = Header { version: 0x2008_0522, pid: 0 };
    let low = Data { effective: set, permitted: set, inheritable: 0 };
    let data = [low, Data { effective: 0, permitted: 0, inheritable: 0 }];
    // SAFETY: capset(2) reads one header and two data records, which live
    // for the call; it writes nothing but the header's version on error.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

#[cfg(not(feature = "live"))]
pub fn relinquish(user: Option<&str>, _live: bool) -> Result<(), Error> {
    match user {
        Some(_) => {
            Err(Error::Usage("-Z drops privileges after a live capture opens: build with `--features live`".into()))
        }
        None => Ok(()),
    }
}
