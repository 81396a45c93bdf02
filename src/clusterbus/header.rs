//! Full headers (layouts V0 and V1, §2.1, §2.2) and the light header (§5).

use super::error::BusError;
use super::message::Header;
use super::types::{NodeFlags, NodeName, SlotBitmap};
use super::{HEADER_LEN_V0, HEADER_LEN_V1};
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u64, u8 as nom_u8};
use nom::{IResult, Parser};

type Res<'a, T> = IResult<&'a [u8], T, BusError>;

impl<'a> nom::error::ParseError<&'a [u8]> for BusError {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        BusError::Truncated { needed: 0, have: input.len() }
    }
    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// Borrows a fixed-size array.
pub(crate) fn array<const N: usize>(i: &[u8]) -> Res<'_, &[u8; N]> {
    let (rest, b) = take(N).parse(i)?;
    match b.try_into() {
        Ok(a) => Ok((rest, a)),
        Err(_) => Err(nom::Err::Error(BusError::Truncated { needed: N, have: b.len() })),
    }
}

/// Trims NUL padding of a fixed-size string field.
pub(crate) fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

fn name(i: &[u8]) -> Res<'_, NodeName<'_>> {
    array::<40>(i).map(|(r, a)| (r, NodeName(a)))
}

/// Parses the fixed 2208-byte V0 header (input starts at offset 0).
pub fn parse_header_v0(i: &[u8]) -> Res<'_, (u16, Header<'_>)> {
    if i.len() < HEADER_LEN_V0 {
        return Err(nom::Err::Error(BusError::Truncated { needed: HEADER_LEN_V0, have: i.len() }));
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
        return Err(nom::Err::Error(BusError::Truncated { needed: HEADER_LEN_V1, have: i.len() }));
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
