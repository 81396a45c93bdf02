//! The full header (layouts V0 and V1, §2.1, §2.2): the type and its nom
//! parsers. The light header (§5) has no fields beyond its type and is
//! read in `parse.rs`. Imports: `error`, `types`, `wire`.

use super::error::BusError;
use super::types::{NodeFlags, NodeName, SlotBitmap};
use super::wire::{HEADER_LEN_V0, HEADER_LEN_V1, trim_nul};
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u64, u8 as nom_u8};
use nom::{IResult, Parser};

type Res<'a, T> = IResult<&'a [u8], T, BusError>;

/// The full header (V0 or V1). Fields absent from V0 are zero / `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'buf> {
    /// wire: ver
    pub ver: u16,
    /// wire: count (gossip entries)
    pub count: u16,
    /// wire: currentEpoch
    pub current_epoch: u64,
    /// wire: configEpoch
    pub config_epoch: u64,
    /// wire: offset (replication offset)
    pub offset: u64,
    /// wire: sender
    pub sender: NodeName<'buf>,
    /// wire: myslots
    pub myslots: SlotBitmap<'buf>,
    /// wire: slaveof; `None` when all zero (the sender is a master).
    pub replicaof: Option<NodeName<'buf>>,
    /// wire: myip (V1 only), NUL padding trimmed; `None` when empty.
    pub myip: Option<&'buf [u8]>,
    /// wire: port (V0 @2200, V1 @10)
    pub port: u16,
    /// wire: pport (V1 @2246, 6.2.2+), 0 when absent.
    pub pport: u16,
    /// wire: cport (V1 @2248). For V0 it is `port + 10000` (implicit on the
    /// wire); see `cport_on_wire`.
    pub cport: u16,
    /// False for V0, where `cport` was derived rather than read.
    pub cport_on_wire: bool,
    /// wire: extensions (V1 @2214, 7.0+)
    pub extensions: u16,
    /// wire: flags (sender's own node flags)
    pub flags: NodeFlags,
    /// wire: state (0 OK, 1 FAIL)
    pub state: u8,
    /// wire: mflags
    pub mflags: [u8; 3],
}

/// Borrows a fixed-size array.
pub(crate) fn array<const N: usize>(i: &[u8]) -> Res<'_, &[u8; N]> {
    let (rest, b) = take(N).parse(i)?;
    match b.try_into() {
        Ok(a) => Ok((rest, a)),
        Err(_) => Err(nom::Err::Error(BusError::Truncated { offset: 0, needed: N, have: b.len() })),
    }
}

fn name(i: &[u8]) -> Res<'_, NodeName<'_>> {
    array::<40>(i).map(|(r, a)| (r, NodeName(a)))
}

/// Parses the fixed 2208-byte V0 header (input starts at offset 0).
pub fn parse_header_v0(i: &[u8]) -> Res<'_, (u16, Header<'_>)> {
    if i.len() < HEADER_LEN_V0 {
        return Err(nom::Err::Error(BusError::Truncated { offset: 0, needed: HEADER_LEN_V0, have: i.len() }));
    }
    let (i, (_sig, _totlen, ver, _unused0, wire_type, count)) =
        (take(4usize), be_u32, be_u16, be_u16, be_u16, be_u16).parse(i)?;
    let (i, (current_epoch, config_epoch, offset, sender, slots, slaveof)) =
        (be_u64, be_u64, be_u64, name, array::<2048>, name).parse(i)?;
    let (i, (_unused1, port, flags, state, mflags)) = (take(32usize), be_u16, be_u16, nom_u8, array::<3>).parse(i)?;
    let h = Header {
        ver,
        count,
        current_epoch,
        config_epoch,
        offset,
        sender,
        myslots: SlotBitmap(slots),
        replicaof: (!slaveof.is_null()).then_some(slaveof),
        myip: None,
        port,
        pport: 0,
        cport: port.wrapping_add(10000),
        cport_on_wire: false,
        extensions: 0,
        flags: NodeFlags(flags),
        state,
        mflags: *mflags,
    };
    Ok((i, (wire_type, h)))
}

/// Parses the fixed 2256-byte V1 header.
pub fn parse_header_v1(i: &[u8]) -> Res<'_, (u16, Header<'_>)> {
    if i.len() < HEADER_LEN_V1 {
        return Err(nom::Err::Error(BusError::Truncated { offset: 0, needed: HEADER_LEN_V1, have: i.len() }));
    }
    let (i, (_sig, _totlen, ver, port, wire_type, count)) =
        (take(4usize), be_u32, be_u16, be_u16, be_u16, be_u16).parse(i)?;
    let (i, (current_epoch, config_epoch, offset, sender, slots, slaveof)) =
        (be_u64, be_u64, be_u64, name, array::<2048>, name).parse(i)?;
    let (i, (myip, extensions, _unused, pport, cport, flags, state, mflags)) =
        (array::<46>, be_u16, take(30usize), be_u16, be_u16, be_u16, nom_u8, array::<3>).parse(i)?;
    let ip = trim_nul(myip);
    let h = Header {
        ver,
        count,
        current_epoch,
        config_epoch,
        offset,
        sender,
        myslots: SlotBitmap(slots),
        replicaof: (!slaveof.is_null()).then_some(slaveof),
        myip: (!ip.is_empty()).then_some(ip),
        port,
        pport,
        cport,
        cport_on_wire: true,
        extensions,
        flags: NodeFlags(flags),
        state,
        mflags: *mflags,
    };
    Ok((i, (wire_type, h)))
}
