-- rcmb.lua: a Wireshark dissector for the Redis / Valkey Cluster bus ("RCmb").
--
-- Shipped with meetgraph (https://github.com/ -- see wireshark/README.md for
-- install steps and the list of fields); `meetgraph dissector` prints it.
--
-- Decodes every generation meetgraph decodes:
--   * header layout V0 (ver 0: Redis 3.0, 3.2; 2208 bytes) and V1 (ver 1:
--     Redis 4.0 and later, every Valkey; 2256 bytes);
--   * Valkey's light header (ver 1, type bit 0x8000; 16 bytes; light PUBLISH,
--     PUBLISHSHARD and MODULE);
--   * every message type and body: PING/PONG/MEET (gossip entries, ping
--     extensions), FAIL, PUBLISH, FAILOVER_AUTH_REQUEST/ACK, UPDATE, MFSTART,
--     MODULE, PUBLISHSHARD;
--   * ping extensions: hostname, human nodename, forgotten node, shard id,
--     client IPv4/IPv6, client ports, availability zone, Redis 8's internal
--     secret (never shown), and the Redis 7.2-rc numbering.
-- The checks are the ones a receiving server makes (and meetgraph's parser
-- makes): a message failing them is shown with expert info, never a Lua
-- error.
--
-- Transport: TCP, no port assumed. A heuristic claims a connection when a
-- segment starts with "RCmb" and a sane totlen; the usual bus ports (pref
-- "rcmb.ports", default 16379 and 17000-17020) are registered as well. Once
-- claimed, a connection stays with this dissector (both directions).
-- Messages split over segments are reassembled (TCP "Allow subdissector to
-- reassemble TCP streams", on by default); several messages in one segment
-- give one tree each. In a connection whose start was not captured, the
-- dissector finds its way back to a message boundary the way meetgraph does
-- (a plausible header: signature, version, length consistent with the type,
-- a sender made of [0-9a-z], the MYSELF flag).
--
-- Byte order: big-endian everywhere except MODULE's module_id (the sender's
-- host order, read little-endian as x86/ARM senders write it).

local rcmb = Proto("rcmb", "Redis/Valkey Cluster Bus")

---------------------------------------------------------------------------
-- Wire constants (cluster-bus notes §1-§7)
---------------------------------------------------------------------------

local SIGNATURE = "RCmb"
local HEADER_V0 = 2208
local HEADER_V1 = 2256
local HEADER_LIGHT = 16
local GOSSIP_LEN = 104
local MIN_TOTLEN = 16
local FAIL_BODY = 40
local UPDATE_BODY = 8 + 40 + 2048
local PUBLISH_MIN = 8
local MODULE_MIN = 13
local EXT_SUSPICIOUS = 65536
local ONE_MORE = DESEGMENT_ONE_MORE_SEGMENT or 0x0fffffff

local LAYOUT_V0, LAYOUT_V1, LAYOUT_LIGHT = 0, 1, 2

local type_names = {
    [0] = "PING", [1] = "PONG", [2] = "MEET", [3] = "FAIL", [4] = "PUBLISH",
    [5] = "FAILOVER_AUTH_REQUEST", [6] = "FAILOVER_AUTH_ACK", [7] = "UPDATE",
    [8] = "MFSTART", [9] = "MODULE", [10] = "PUBLISHSHARD",
}
local layout_names = {
    [0] = "V0, 2208-byte header (Redis 3.0, 3.2)",
    [1] = "V1, 2256-byte header (Redis 4.0+, Valkey)",
    [2] = "Light, 16-byte header (Valkey 8.0+)",
}
local ver_names = { [0] = "Redis 3.x", [1] = "Redis 4.0+, Valkey" }
local state_names = { [0] = "OK", [1] = "FAIL" }
-- Extension types, Redis 7.2.0+ / Valkey numbering (§4.3).
local ext_names = {
    [0] = "HOSTNAME", [1] = "HUMAN_NODENAME", [2] = "FORGOTTEN_NODE", [3] = "SHARDID",
    [4] = "CLIENT_IPV4 (Valkey) / INTERNALSECRET (Redis 8)", [5] = "CLIENT_IPV6",
    [6] = "CLIENT_PORT (Valkey 9.1)", [7] = "CLIENT_TLS_PORT (Valkey 9.1)",
    [8] = "AVAILABILITY_ZONE (Valkey 9.1)",
}

-- Node flags (§6.1): bit, field suffix, label, short name (CLUSTER NODES style).
local node_flags = {
    { 0x0001, "master", "Master / primary", "master" },
    { 0x0002, "slave", "Slave / replica", "slave" },
    { 0x0004, "pfail", "PFAIL (fail?)", "fail?" },
    { 0x0008, "fail", "FAIL", "fail" },
    { 0x0010, "myself", "Myself", "myself" },
    { 0x0020, "handshake", "Handshake", "handshake" },
    { 0x0040, "noaddr", "No address", "noaddr" },
    { 0x0080, "meet", "Meet", "meet" },
    { 0x0100, "migrate_to", "Migrate to", "migrate_to" },
    { 0x0200, "nofailover", "No failover", "nofailover" },
    { 0x0400, "ext_supported", "Extensions supported", "ext" },
    { 0x0800, "light_pub", "Light header PUBLISH supported (Valkey 8.0+)", "light_pub" },
    { 0x1000, "light_mod", "Light header MODULE / multi-MEET supported (Valkey 8.1+)", "light_mod" },
    { 0x2000, "primary_fail", "My primary is FAIL (Valkey 9.0+)", "primary_fail" },
}

---------------------------------------------------------------------------
-- Fields
---------------------------------------------------------------------------

local f = {}
local function field(key, pf)
    f[key] = pf
end

field("sig", ProtoField.string("rcmb.sig", "Signature"))
field("totlen", ProtoField.uint32("rcmb.totlen", "Total length", base.DEC))
field("ver", ProtoField.uint16("rcmb.ver", "Protocol version", base.DEC, ver_names))
field("layout", ProtoField.uint8("rcmb.layout", "Header layout", base.DEC, layout_names))
field("port", ProtoField.uint16("rcmb.port", "Port", base.DEC))
field("wire_type", ProtoField.uint16("rcmb.wire_type", "Wire type", base.HEX))
field("light", ProtoField.bool("rcmb.light", "Light header", 16, nil, 0x8000))
field("type", ProtoField.uint16("rcmb.type", "Type", base.DEC, type_names))
field("count", ProtoField.uint16("rcmb.count", "Gossip count", base.DEC))
field("notused", ProtoField.bytes("rcmb.notused", "Not used"))
field("current_epoch", ProtoField.uint64("rcmb.current_epoch", "Current epoch", base.DEC))
field("config_epoch", ProtoField.uint64("rcmb.config_epoch", "Config epoch", base.DEC))
field("offset", ProtoField.uint64("rcmb.offset", "Replication offset", base.DEC))
field("sender", ProtoField.string("rcmb.sender", "Sender"))
field("slots", ProtoField.string("rcmb.slots", "Slots"))
field("slot_count", ProtoField.uint16("rcmb.slot_count", "Slot count", base.DEC))
field("replicaof", ProtoField.string("rcmb.replicaof", "Replica of"))
field("myip", ProtoField.string("rcmb.myip", "My IP"))
field("extensions", ProtoField.uint16("rcmb.extensions", "Extensions", base.DEC))
field("pport", ProtoField.uint16("rcmb.pport", "Secondary port (pport)", base.DEC))
field("cport", ProtoField.uint16("rcmb.cport", "Cluster bus port (cport)", base.DEC))
field("flags", ProtoField.uint16("rcmb.flags", "Flags", base.HEX))
field("state", ProtoField.uint8("rcmb.state", "Cluster state", base.DEC, state_names))
field("mflags", ProtoField.bytes("rcmb.mflags", "Message flags"))
field("mflags_paused", ProtoField.bool("rcmb.mflags.paused", "PAUSED (manual failover)", 8, nil, 0x01))
field("mflags_forceack", ProtoField.bool("rcmb.mflags.forceack", "FORCEACK", 8, nil, 0x02))
field("mflags_ext_data", ProtoField.bool("rcmb.mflags.ext_data", "EXT_DATA (extensions)", 8, nil, 0x04))

-- Header and gossip flag bits.
local flag_fields, gossip_flag_fields = {}, {}
for i, d in ipairs(node_flags) do
    flag_fields[i] = ProtoField.bool("rcmb.flags." .. d[2], d[3], 16, nil, d[1])
    gossip_flag_fields[i] = ProtoField.bool("rcmb.gossip.flags." .. d[2], d[3], 16, nil, d[1])
end

field("gossip", ProtoField.none("rcmb.gossip", "Gossip entry"))
field("g_name", ProtoField.string("rcmb.gossip.name", "Node name"))
field("g_ping_sent", ProtoField.uint32("rcmb.gossip.ping_sent", "Ping sent", base.DEC))
field("g_pong_received", ProtoField.uint32("rcmb.gossip.pong_received", "Pong received", base.DEC))
field("g_ip", ProtoField.string("rcmb.gossip.ip", "IP"))
field("g_port", ProtoField.uint16("rcmb.gossip.port", "Port", base.DEC))
field("g_cport", ProtoField.uint16("rcmb.gossip.cport", "Cluster bus port (cport)", base.DEC))
field("g_flags", ProtoField.uint16("rcmb.gossip.flags", "Flags", base.HEX))
field("g_pport", ProtoField.uint16("rcmb.gossip.pport", "Secondary port (pport)", base.DEC))
field("g_notused", ProtoField.bytes("rcmb.gossip.notused", "Not used"))

field("ext", ProtoField.none("rcmb.ext", "Extension"))
field("ext_len", ProtoField.uint32("rcmb.ext.len", "Length", base.DEC))
field("ext_type", ProtoField.uint16("rcmb.ext.type", "Type", base.DEC, ext_names))
field("ext_unused", ProtoField.uint16("rcmb.ext.unused", "Not used", base.HEX))
field("ext_hostname", ProtoField.string("rcmb.ext.hostname", "Hostname"))
field("ext_human", ProtoField.string("rcmb.ext.human_nodename", "Human nodename"))
field("ext_forgotten_name", ProtoField.string("rcmb.ext.forgotten.name", "Forgotten node"))
field("ext_forgotten_ttl", ProtoField.uint64("rcmb.ext.forgotten.ttl", "Forgotten TTL (s)", base.DEC))
field("ext_shard_id", ProtoField.string("rcmb.ext.shard_id", "Shard id"))
field("ext_ipv4", ProtoField.string("rcmb.ext.client_ipv4", "Client IPv4"))
field("ext_ipv6", ProtoField.string("rcmb.ext.client_ipv6", "Client IPv6"))
field("ext_client_port", ProtoField.uint16("rcmb.ext.client_port", "Client TCP port", base.DEC))
field("ext_client_tls_port", ProtoField.uint16("rcmb.ext.client_tls_port", "Client TLS port", base.DEC))
field("ext_az", ProtoField.string("rcmb.ext.availability_zone", "Availability zone"))
field("ext_secret", ProtoField.none("rcmb.ext.internal_secret", "Internal secret (Redis 8, not shown)"))
field("ext_data", ProtoField.bytes("rcmb.ext.data", "Data"))

field("fail_name", ProtoField.string("rcmb.fail.name", "Node declared FAIL"))

field("pub_channel_len", ProtoField.uint32("rcmb.publish.channel_len", "Channel length", base.DEC))
field("pub_message_len", ProtoField.uint32("rcmb.publish.message_len", "Message length", base.DEC))
field("pub_channel", ProtoField.string("rcmb.publish.channel", "Channel"))
field("pub_message", ProtoField.string("rcmb.publish.message", "Message"))

field("upd_config_epoch", ProtoField.uint64("rcmb.update.config_epoch", "Config epoch", base.DEC))
field("upd_name", ProtoField.string("rcmb.update.name", "Node"))
field("upd_slots", ProtoField.string("rcmb.update.slots", "Slots"))
field("upd_slot_count", ProtoField.uint16("rcmb.update.slot_count", "Slot count", base.DEC))

field("mod_id", ProtoField.uint64("rcmb.module.id", "Module id (sender's host order)", base.HEX))
field("mod_name", ProtoField.string("rcmb.module.name", "Module name"))
field("mod_len", ProtoField.uint32("rcmb.module.len", "Payload length", base.DEC))
field("mod_type", ProtoField.uint8("rcmb.module.type", "Module message type", base.DEC))
field("mod_payload", ProtoField.bytes("rcmb.module.payload", "Payload"))

field("data", ProtoField.bytes("rcmb.data", "Data"))
field("skipped", ProtoField.bytes("rcmb.skipped", "Bytes before a message start"))

local all_fields = {}
for _, pf in pairs(f) do
    all_fields[#all_fields + 1] = pf
end
for i = 1, #node_flags do
    all_fields[#all_fields + 1] = flag_fields[i]
    all_fields[#all_fields + 1] = gossip_flag_fields[i]
end
rcmb.fields = all_fields

---------------------------------------------------------------------------
-- Expert info
---------------------------------------------------------------------------

-- Group PROTOCOL ("violation of protocol specs, e.g. invalid field values
-- or illegal lengths"), not MALFORMED: that group means the dissector gave
-- up (an exception), and Wireshark marks such packets `_ws.malformed`; this
-- dissector never gives up, so `_ws.malformed` keeps meaning a bug.
local e = {
    length = ProtoExpert.new("rcmb.expert.length_mismatch", "totlen does not match the type's body (a receiver drops it)",
        expert.group.PROTOCOL, expert.severity.ERROR),
    impossible = ProtoExpert.new("rcmb.expert.impossible_length", "Impossible totlen",
        expert.group.PROTOCOL, expert.severity.ERROR),
    version = ProtoExpert.new("rcmb.expert.unknown_version", "Unknown protocol version (a receiver drops it)",
        expert.group.PROTOCOL, expert.severity.ERROR),
    extension = ProtoExpert.new("rcmb.expert.bad_extension", "Malformed ping extensions (a receiver drops it)",
        expert.group.PROTOCOL, expert.severity.ERROR),
    ext_suspicious = ProtoExpert.new("rcmb.expert.extension_length", "Extension length of 64 KiB or more",
        expert.group.PROTOCOL, expert.severity.WARN),
    light = ProtoExpert.new("rcmb.expert.bad_light_header", "Light header on a type that has none (a receiver drops it)",
        expert.group.PROTOCOL, expert.severity.ERROR),
    unknown_type = ProtoExpert.new("rcmb.expert.unknown_type", "Unknown message type",
        expert.group.UNDECODED, expert.severity.NOTE),
    truncated = ProtoExpert.new("rcmb.expert.truncated", "Message continues past the captured data",
        expert.group.UNDECODED, expert.severity.WARN),
    signature = ProtoExpert.new("rcmb.expert.bad_signature", "Expected the RCmb signature at a message start",
        expert.group.PROTOCOL, expert.severity.ERROR),
    resync = ProtoExpert.new("rcmb.expert.resync", "Bytes skipped to find a message start",
        expert.group.SEQUENCE, expert.severity.WARN),
    internal = ProtoExpert.new("rcmb.expert.internal", "Dissector error (please report)",
        expert.group.UNDECODED, expert.severity.WARN),
}
rcmb.experts = { e.length, e.impossible, e.version, e.extension, e.ext_suspicious, e.light,
    e.unknown_type, e.truncated, e.signature, e.resync, e.internal }

---------------------------------------------------------------------------
-- Preferences
---------------------------------------------------------------------------

local DEFAULT_PORTS = "16379,17000-17020"
rcmb.prefs.ports = Pref.range("TCP ports", DEFAULT_PORTS,
    "Ports decoded as the cluster bus without the heuristic (the heuristic finds other ports)", 65535)
rcmb.prefs.max_totlen = Pref.uint("Largest message (bytes)", 64 * 1024 * 1024,
    "Longer totlen values are flagged and not reassembled (meetgraph's --max-message default)")
rcmb.prefs.heuristic = Pref.bool("Heuristic on every TCP port", true,
    "Claim a TCP connection whose segment starts with RCmb and a sane totlen")

---------------------------------------------------------------------------
-- Helpers (plain arithmetic: no bit library, so every Lua version works)
---------------------------------------------------------------------------

local function has_bit(v, mask)
    return math.floor(v / mask) % 2 == 1
end

local function short_id(s)
    return string.sub(s, 1, 8)
end

local Z64 = string.rep("\0", 64)
local F64 = string.rep("\255", 64)

-- Slot ranges of a 2048-byte bitmap (slot N = bit N%8 of byte N/8, LSB
-- first), as "0-5460,5462" ("-" when none), and the slot count.
local function slot_ranges(s)
    local parts, count, start = {}, 0, nil
    local function close(last)
        if start then
            parts[#parts + 1] = (start == last) and tostring(start) or (start .. "-" .. last)
            start = nil
        end
    end
    for blk = 0, 31 do
        local chunk = string.sub(s, blk * 64 + 1, blk * 64 + 64)
        local base_slot = blk * 512
        if chunk == Z64 then
            close(base_slot - 1)
        elseif chunk == F64 then
            start = start or base_slot
            count = count + 512
        else
            local bytes = { string.byte(chunk, 1, 64) }
            for i = 1, #bytes do
                local b, sb = bytes[i], base_slot + (i - 1) * 8
                if b == 0 then
                    close(sb - 1)
                elseif b == 255 then
                    start = start or sb
                    count = count + 8
                else
                    for bit = 0, 7 do
                        if math.floor(b / 2 ^ bit) % 2 == 1 then
                            count = count + 1
                            start = start or (sb + bit)
                        else
                            close(sb + bit - 1)
                        end
                    end
                end
            end
        end
    end
    close(16383)
    if #parts == 0 then
        return "-", 0
    end
    return table.concat(parts, ","), count
end

local function is_name_char(c)
    return (c >= 48 and c <= 57) or (c >= 97 and c <= 122)
end

local function all_name_chars(s)
    for i = 1, #s do
        if not is_name_char(string.byte(s, i)) then
            return false
        end
    end
    return true
end

local function all_zero(s)
    return not string.find(s, "[^%z]")
end

-- Module name from a module id: 9 characters of 6 bits, most significant
-- first, above 10 bits of encoding version (§3.8).
local MODULE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local function module_name(id)
    local ok, res = pcall(function()
        if id == UInt64(0) then
            return "(none)"
        end
        local v = id:rshift(10)
        local chars = {}
        for i = 9, 1, -1 do
            local c = v:band(UInt64(63)):tonumber()
            chars[i] = string.sub(MODULE_ALPHABET, c + 1, c + 1)
            v = v:rshift(6)
        end
        return table.concat(chars)
    end)
    return ok and res or "?"
end

local function flag_names(v)
    local names = {}
    local known = 0
    for _, d in ipairs(node_flags) do
        known = known + d[1]
        if has_bit(v, d[1]) then
            names[#names + 1] = d[4]
        end
    end
    local unknown = v - (v % 0x4000)  -- bits above 0x2000
    if unknown ~= 0 then
        names[#names + 1] = string.format("0x%04x", unknown)
    end
    return #names > 0 and table.concat(names, ",") or "noflags"
end

---------------------------------------------------------------------------
-- Plausibility (meetgraph's probe_header: used for the heuristic and to
-- find a message start after bytes that are not one)
---------------------------------------------------------------------------

local function is_light_type(t)
    return t == 4 or t == 10 or t == 9
end

-- Returns "yes", totlen | "need", bytes | "no".
local function probe(tvb, off, avail, max_totlen)
    local n = math.min(avail, 16)
    if n < 16 then
        if tvb:raw(off, math.min(n, 4)) ~= string.sub(SIGNATURE, 1, math.min(n, 4)) then
            return "no"
        end
        return "need", 16
    end
    if tvb:raw(off, 4) ~= SIGNATURE then
        return "no"
    end
    local totlen = tvb(off + 4, 4):uint()
    local ver = tvb(off + 8, 2):uint()
    local wt = tvb(off + 12, 2):uint()
    if totlen > max_totlen then
        return "no"
    end
    if ver == 1 and wt >= 0x8000 then
        local base_t = wt - 0x8000
        local min = (base_t == 9) and MODULE_MIN or PUBLISH_MIN
        if is_light_type(base_t) and tvb(off + 10, 2):uint() == 0 and tvb(off + 14, 2):uint() == 0
            and totlen >= HEADER_LIGHT + min then
            return "yes", totlen
        end
        return "no"
    end
    local h
    if ver == 0 then
        h = HEADER_V0
        if tvb(off + 10, 2):uint() ~= 0 then
            return "no"
        end
    elseif ver == 1 then
        h = HEADER_V1
    else
        return "no"
    end
    if totlen < h or wt > 10 then
        return "no"
    end
    local count = tvb(off + 14, 2):uint()
    local body = totlen - h
    local ok
    if wt <= 2 then
        local g = count * GOSSIP_LEN
        ok = g <= body and ((ver == 0 and g == body) or (ver == 1 and (body - g) % 8 == 0))
    else
        ok = count == 0
        if ok then
            if wt == 3 then ok = body == FAIL_BODY
            elseif wt == 7 then ok = body == UPDATE_BODY
            elseif wt == 4 or wt == 10 then ok = body >= PUBLISH_MIN
            elseif wt == 9 then ok = body >= MODULE_MIN
            else ok = body == 0 end
        end
    end
    if not ok then
        return "no"
    end
    if avail < 80 then
        return "need", h
    end
    if not all_name_chars(tvb:raw(off + 40, 40)) then
        return "no"
    end
    if avail < h then
        return "need", h
    end
    local slaveof = tvb:raw(off + 2128, 40)
    local flags_at = (ver == 0) and 2202 or 2250
    local flags = tvb(off + flags_at, 2):uint()
    local st = flags_at + 2
    if (all_zero(slaveof) or all_name_chars(slaveof)) and has_bit(flags, 0x0010)
        and tvb(off + st, 1):uint() <= 1 and tvb(off + st + 2, 1):uint() == 0
        and tvb(off + st + 3, 1):uint() == 0 then
        return "yes", totlen
    end
    return "no"
end

---------------------------------------------------------------------------
-- Message bodies
---------------------------------------------------------------------------

-- A bounded view of one message: `t` is the message's tvb (its first
-- `avail` bytes were captured; `totlen` is what the header says).
local function has(msg, off, len)
    return off >= 0 and len > 0 and off + len <= msg.avail
end

local function rng(msg, off, len)
    if has(msg, off, len) then
        return msg.t(off, len)
    end
    return nil
end

-- Flags the message as malformed (a receiving server would drop it, and
-- meetgraph does not count it).
local function malformed(msg, ef, text)
    msg.tree:add_proto_expert_info(ef, text)
    msg.bad = true
end

local function add_gossip_entry(msg, tree, off, idx)
    local t = msg.t
    local v0 = msg.layout == LAYOUT_V0
    local name = t:raw(off, 40)
    local ip = t(off + 48, 46):string()
    local port = t(off + 94, 2):uint()
    local cport, flags_off
    if v0 then
        cport = (port + 10000) % 65536
        flags_off = off + 96
    else
        cport = t(off + 96, 2):uint()
        flags_off = off + 98
    end
    local flags = t(flags_off, 2):uint()
    local g = tree:add(f.gossip, t(off, GOSSIP_LEN))
    g:set_text(string.format("Gossip entry %d: %s %s:%d@%d %s", idx, short_id(name), ip, port, cport,
        flag_names(flags)))
    g:add(f.g_name, t(off, 40))
    -- V1: Unix seconds (0 = none); V0: low 32 bits of milliseconds.
    for _, tf in ipairs({ { f.g_ping_sent, 40 }, { f.g_pong_received, 44 } }) do
        local it = g:add(tf[1], t(off + tf[2], 4))
        local secs = t(off + tf[2], 4):uint()
        if v0 then
            it:append_text(" (low 32 bits of a time in ms)")
        elseif secs > 0 then
            it:append_text(os.date("! (%Y-%m-%d %H:%M:%S UTC)", secs))
        end
    end
    g:add(f.g_ip, t(off + 48, 46))
    g:add(f.g_port, t(off + 94, 2))
    if v0 then
        g:add(f.g_cport, t(off + 94, 2), cport):set_generated()
        local fi = g:add(f.g_flags, t(off + 96, 2))
        fi:append_text(" (" .. flag_names(flags) .. ")")
        for i = 1, #node_flags do
            fi:add(gossip_flag_fields[i], t(off + 96, 2))
        end
        g:add(f.g_notused, t(off + 98, 6))
    else
        g:add(f.g_cport, t(off + 96, 2))
        local fi = g:add(f.g_flags, t(off + 98, 2))
        fi:append_text(" (" .. flag_names(flags) .. ")")
        for i = 1, #node_flags do
            fi:add(gossip_flag_fields[i], t(off + 98, 2))
        end
        g:add(f.g_pport, t(off + 100, 2))
        g:add(f.g_notused, t(off + 102, 2))
    end
    return short_id(name)
end

-- One extension record at `off` of `len` bytes (already bounds-checked).
local function add_extension(msg, tree, off, len, idx)
    local t = msg.t
    local ext_type = t(off + 4, 2):uint()
    local x = tree:add(f.ext, t(off, len))
    x:add(f.ext_len, t(off, 4))
    local ti = x:add(f.ext_type, t(off + 4, 2))
    x:add(f.ext_unused, t(off + 6, 2))
    local blen = len - 8
    local body = rng(msg, off + 8, blen)
    local label
    local function str(pf, name)
        if body then
            local it = x:add(pf, body)
            label = name .. " " .. body:string()
            return it
        end
        x:add(pf, t(off + 4, 2), "")
        label = name .. " (empty)"
    end
    if len >= EXT_SUSPICIOUS then
        x:add_proto_expert_info(e.ext_suspicious, "extension length " .. len .. " (real servers read it into 16 bits)")
    end
    -- Interpreted by type and length, as meetgraph does (§4.3): the Redis
    -- 7.2-rc numbering has 1 = forgotten node (56) and 2 = shard id (48);
    -- type 4 with a 40-byte body is Redis 8's internal secret.
    if ext_type == 0 then
        str(f.ext_hostname, "hostname")
    elseif ext_type == 1 and len == 56 then
        x:add(f.ext_forgotten_name, t(off + 8, 40))
        x:add(f.ext_forgotten_ttl, t(off + 48, 8))
        ti:append_text(" (Redis 7.2-rc numbering: FORGOTTEN_NODE)")
        label = "forgotten " .. short_id(t:raw(off + 8, 40)) .. " ttl " .. tostring(t(off + 48, 8):uint64())
    elseif ext_type == 2 and len == 48 then
        x:add(f.ext_shard_id, t(off + 8, 40))
        ti:append_text(" (Redis 7.2-rc numbering: SHARDID)")
        label = "shard " .. short_id(t:raw(off + 8, 40))
    elseif ext_type == 1 then
        str(f.ext_human, "human nodename")
    elseif ext_type == 2 then
        if blen >= 48 then
            x:add(f.ext_forgotten_name, t(off + 8, 40))
            x:add(f.ext_forgotten_ttl, t(off + 48, 8))
            label = "forgotten " .. short_id(t:raw(off + 8, 40)) .. " ttl " .. tostring(t(off + 48, 8):uint64())
        end
    elseif ext_type == 3 then
        if blen >= 40 then
            x:add(f.ext_shard_id, t(off + 8, 40))
            label = "shard " .. short_id(t:raw(off + 8, 40))
        end
    elseif ext_type == 4 and len == 48 then
        x:add(f.ext_secret, t(off + 8, 40))
        ti:append_text(" (40-byte body: Redis 8 INTERNALSECRET)")
        label = "internal secret"
    elseif ext_type == 4 then
        str(f.ext_ipv4, "client ipv4")
    elseif ext_type == 5 then
        str(f.ext_ipv6, "client ipv6")
    elseif ext_type == 6 then
        if blen >= 2 then
            x:add(f.ext_client_port, t(off + 8, 2))
            label = "client port " .. t(off + 8, 2):uint()
        end
    elseif ext_type == 7 then
        if blen >= 2 then
            x:add(f.ext_client_tls_port, t(off + 8, 2))
            label = "client tls port " .. t(off + 8, 2):uint()
        end
    elseif ext_type == 8 then
        str(f.ext_az, "availability zone")
    end
    if not label then
        if body then
            x:add(f.ext_data, body)
        end
        label = "type " .. ext_type .. " (not interpreted)"
    end
    x:set_text(string.format("Extension %d: %s (%d bytes)", idx, label, len))
    return label
end

local function dissect_gossip_body(msg, bstart, blen)
    local t, tree = msg.t, msg.tree
    local count = msg.count
    local g = count * GOSSIP_LEN
    local summary = " gossip=" .. count
    if g > blen then
        malformed(msg, e.length, string.format("%d gossip entries need %d body bytes, totlen leaves %d", count, g, blen))
    end
    local shown = {}
    for i = 0, count - 1 do
        local off = bstart + i * GOSSIP_LEN
        if off + GOSSIP_LEN > bstart + blen or not has(msg, off, GOSSIP_LEN) then
            break
        end
        shown[#shown + 1] = add_gossip_entry(msg, tree, off, i)
    end
    if #shown > 0 then
        summary = summary .. " [" .. table.concat(shown, " ") .. "]"
    end
    if g > blen then
        return summary
    end
    -- Extension area (§4): after the gossip array, up to totlen.
    local xoff, xlen = bstart + g, blen - g
    local next_ = msg.extensions
    local ext_flag = has_bit(msg.mflags0, 0x04)
    if xlen > 0 then
        if msg.layout == LAYOUT_V0 or not ext_flag or next_ == 0 then
            malformed(msg, e.length, string.format(
                "%d bytes after the gossip entries without announced extensions (EXT_DATA %s, extensions %d)",
                xlen, ext_flag and "set" or "clear", next_))
            local r = rng(msg, xoff, math.min(xlen, msg.avail - xoff))
            if r then tree:add(f.data, r) end
            return summary
        end
        local at, rest = xoff, xlen
        local labels = {}
        local cut = false
        for i = 0, next_ - 1 do
            if rest < 8 then
                malformed(msg, e.extension, "extension " .. i .. ": record header past the end")
                break
            end
            if not has(msg, at, 8) then
                cut = true
                break
            end
            local len = t(at, 4):uint()
            if len < 8 or len % 8 ~= 0 then
                malformed(msg, e.extension, "extension " .. i .. ": length " .. len .. " not a multiple of 8 or below 8")
                local r = rng(msg, at, math.min(rest, msg.avail - at))
                if r then tree:add(f.data, r) end
                rest = 0
                break
            end
            if len > rest then
                malformed(msg, e.extension, "extension " .. i .. ": length " .. len .. " longer than the " .. rest .. " bytes left")
                local r = rng(msg, at, math.min(rest, msg.avail - at))
                if r then tree:add(f.data, r) end
                rest = 0
                break
            end
            if not has(msg, at, len) then
                cut = true
                break
            end
            labels[#labels + 1] = add_extension(msg, tree, at, len, i)
            at, rest = at + len, rest - len
        end
        if rest > 0 and not msg.bad and not cut then
            malformed(msg, e.extension, rest .. " bytes after the last extension record")
            local r = rng(msg, at, math.min(rest, msg.avail - at))
            if r then tree:add(f.data, r) end
        end
        if #labels > 0 then
            summary = summary .. " ext=[" .. table.concat(labels, ", ") .. "]"
        end
    elseif next_ > 0 and ext_flag then
        malformed(msg, e.extension, "extensions announced (" .. next_ .. ") but absent")
    end
    return summary
end

local function dissect_publish(msg, bstart, blen, hlen)
    local t, tree = msg.t, msg.tree
    if blen < PUBLISH_MIN then
        malformed(msg, e.length, "PUBLISH body of " .. blen .. " bytes (at least 8)")
        return ""
    end
    if not has(msg, bstart, 8) then
        return ""
    end
    tree:add(f.pub_channel_len, t(bstart, 4))
    tree:add(f.pub_message_len, t(bstart + 4, 4))
    local cl, ml = t(bstart, 4):uint(), t(bstart + 4, 4):uint()
    if PUBLISH_MIN + cl + ml ~= blen then
        malformed(msg, e.length, string.format("channel %d + message %d bytes: totlen should be %d", cl, ml,
            hlen + PUBLISH_MIN + cl + ml))
        return ""
    end
    local ch = ""
    local c = rng(msg, bstart + 8, cl)
    if c then
        tree:add(f.pub_channel, c)
        ch = c:string()
    elseif cl == 0 then
        tree:add(f.pub_channel, t(bstart, 4), "")
    end
    local m = rng(msg, bstart + 8 + cl, ml)
    if m then
        tree:add(f.pub_message, m)
    elseif ml == 0 then
        tree:add(f.pub_message, t(bstart + 4, 4), "")
    end
    return string.format(" channel=%q len=%d", ch, ml)
end

local function dissect_module(msg, bstart, blen, hlen)
    local t, tree = msg.t, msg.tree
    if blen < MODULE_MIN then
        malformed(msg, e.length, "MODULE body of " .. blen .. " bytes (at least 13)")
        return ""
    end
    if not has(msg, bstart, MODULE_MIN) then
        return ""
    end
    local idr = t(bstart, 8)
    local id = idr:le_uint64()
    tree:add_le(f.mod_id, idr)
    local name = module_name(id)
    tree:add(f.mod_name, idr, name):set_generated()
    tree:add(f.mod_len, t(bstart + 8, 4))
    tree:add(f.mod_type, t(bstart + 12, 1))
    local len = t(bstart + 8, 4):uint()
    if MODULE_MIN + len ~= blen then
        malformed(msg, e.length, string.format("payload %d bytes: totlen should be %d", len, hlen + MODULE_MIN + len))
        return ""
    end
    local p = rng(msg, bstart + MODULE_MIN, len)
    if p then
        tree:add(f.mod_payload, p)
    end
    return string.format(" module=%s type=%d len=%d", name, t(bstart + 12, 1):uint(), len)
end

local function dissect_update(msg, bstart, blen, hlen)
    local t, tree = msg.t, msg.tree
    if blen ~= UPDATE_BODY then
        malformed(msg, e.length, string.format("UPDATE body of %d bytes (2096): totlen should be %d", blen, hlen + UPDATE_BODY))
        return ""
    end
    if not has(msg, bstart, UPDATE_BODY) then
        return ""
    end
    tree:add(f.upd_config_epoch, t(bstart, 8))
    tree:add(f.upd_name, t(bstart + 8, 40))
    local s, n = slot_ranges(t:raw(bstart + 48, 2048))
    tree:add(f.upd_slots, t(bstart + 48, 2048), s):append_text(" (" .. n .. " slots)")
    tree:add(f.upd_slot_count, t(bstart + 48, 2048), n):set_generated()
    return string.format(" node=%s cfg=%s slots=%s", short_id(t:raw(bstart + 8, 40)),
        tostring(t(bstart, 8):uint64()), s)
end

---------------------------------------------------------------------------
-- Headers
---------------------------------------------------------------------------

-- Adds the V0/V1 header (as much of it as was captured) and returns the
-- pieces of the Info line.
local function dissect_full_header(msg)
    local t, tree, v0 = msg.t, msg.tree, msg.layout == LAYOUT_V0
    local hlen = v0 and HEADER_V0 or HEADER_V1
    if v0 then
        tree:add(f.notused, t(10, 2))
    else
        tree:add(f.port, t(10, 2))
    end
    tree:add(f.wire_type, t(12, 2))
    tree:add(f.type, t(12, 2), msg.type)
    tree:add(f.count, t(14, 2))
    msg.count = t(14, 2):uint()
    if not has(msg, 0, hlen) then
        return
    end
    tree:add(f.current_epoch, t(16, 8))
    tree:add(f.config_epoch, t(24, 8))
    tree:add(f.offset, t(32, 8))
    tree:add(f.sender, t(40, 40))
    msg.sender = t:raw(40, 40)
    local slots, nslots = slot_ranges(t:raw(80, 2048))
    tree:add(f.slots, t(80, 2048), slots):append_text(" (" .. nslots .. " slots)")
    tree:add(f.slot_count, t(80, 2048), nslots):set_generated()
    local rep = t:raw(2128, 40)
    if all_zero(rep) then
        tree:add(t(2128, 40), "Replica of: (none: the sender is a master)")
    else
        tree:add(f.replicaof, t(2128, 40))
    end
    local port, flags_off
    if v0 then
        tree:add(f.notused, t(2168, 32))
        port = t(2200, 2):uint()
        tree:add(f.port, t(2200, 2))
        tree:add(f.cport, t(2200, 2), (port + 10000) % 65536):set_generated():append_text(" (port + 10000)")
        flags_off = 2202
        msg.extensions = 0
    else
        port = t(10, 2):uint()
        local ip = t(2168, 46)
        if all_zero(t:raw(2168, 46)) then
            tree:add(ip, "My IP: (not announced)")
        else
            tree:add(f.myip, ip)
        end
        tree:add(f.extensions, t(2214, 2))
        msg.extensions = t(2214, 2):uint()
        tree:add(f.notused, t(2216, 30))
        tree:add(f.pport, t(2246, 2))
        tree:add(f.cport, t(2248, 2))
        flags_off = 2250
    end
    local flags = t(flags_off, 2):uint()
    local fi = tree:add(f.flags, t(flags_off, 2))
    fi:append_text(" (" .. flag_names(flags) .. ")")
    for i = 1, #node_flags do
        fi:add(flag_fields[i], t(flags_off, 2))
    end
    tree:add(f.state, t(flags_off + 2, 1))
    local mf = tree:add(f.mflags, t(flags_off + 3, 3))
    mf:add(f.mflags_paused, t(flags_off + 3, 1))
    mf:add(f.mflags_forceack, t(flags_off + 3, 1))
    mf:add(f.mflags_ext_data, t(flags_off + 3, 1))
    msg.mflags0 = t(flags_off + 3, 1):uint()
    msg.info = string.format("%s cur=%s cfg=%s slots=%s port=%d", flag_names(flags),
        tostring(t(16, 8):uint64()), tostring(t(24, 8):uint64()), slots, port)
    return true
end

-- One message: `t` holds its first `avail` bytes (avail <= totlen).
local function dissect_message(t, pinfo, root, totlen, avail)
    local tree = root:add(rcmb, t(0, avail))
    local msg = { t = t, tree = tree, totlen = totlen, avail = avail, bad = false,
                  count = 0, extensions = 0, mflags0 = 0 }
    tree:add(f.sig, t(0, 4))
    tree:add(f.totlen, t(4, 4))
    local name = "?"
    if avail < HEADER_LIGHT then
        tree:add_proto_expert_info(e.truncated, "only " .. avail .. " of " .. totlen .. " bytes")
        tree:append_text(", truncated")
        return "RCmb (truncated)"
    end
    local ver = t(8, 2):uint()
    local wt = t(12, 2):uint()
    tree:add(f.ver, t(8, 2))
    local hlen
    if ver == 1 and wt >= 0x8000 then
        msg.layout = LAYOUT_LIGHT
        msg.type = wt - 0x8000
        hlen = HEADER_LIGHT
    elseif ver == 0 then
        msg.layout = LAYOUT_V0
        msg.type = wt
        hlen = HEADER_V0
    elseif ver == 1 then
        msg.layout = LAYOUT_V1
        msg.type = wt
        hlen = HEADER_V1
    else
        tree:add(f.wire_type, t(12, 2))
        malformed(msg, e.version, "protocol version " .. ver .. " (known: 0, 1)")
        if avail > 16 then
            tree:add(f.data, t(16, avail - 16))
        end
        tree:append_text(", unknown version " .. ver)
        return "RCmb ver=" .. ver .. " (unknown version)"
    end
    tree:add(f.layout, t(8, 2), msg.layout):set_generated()
    name = type_names[msg.type] or ("type " .. msg.type)
    local info = name
    local body_info = ""
    local header_ok
    if msg.layout == LAYOUT_LIGHT then
        tree:add(f.notused, t(10, 2))
        local wi = tree:add(f.wire_type, t(12, 2))
        wi:add(f.light, t(12, 2))
        tree:add(f.type, t(12, 2), msg.type)
        tree:add(f.notused, t(14, 2))
        info = name .. " (light)"
        header_ok = true
        if not is_light_type(msg.type) then
            malformed(msg, e.light, string.format("wire type 0x%04x: only PUBLISH, PUBLISHSHARD and MODULE have a light form", wt))
        end
    else
        if totlen < hlen then
            -- The header itself does not fit in totlen (a receiver drops it).
            tree:add(f.wire_type, t(12, 2))
            tree:add(f.type, t(12, 2), msg.type)
            malformed(msg, e.length, string.format("totlen %d is shorter than the %d-byte header", totlen, hlen))
            tree:append_text(string.format(", %s, totlen shorter than the header", name))
            return name .. " (malformed)"
        end
        header_ok = dissect_full_header(msg)
        if header_ok then
            info = name .. " " .. short_id(msg.sender) .. " " .. msg.info
        end
    end
    local bstart, blen = hlen, totlen - hlen
    if header_ok and not msg.bad then
        local ty = msg.type
        if msg.layout ~= LAYOUT_LIGHT and ty <= 2 then
            body_info = dissect_gossip_body(msg, bstart, blen)
        elseif ty == 3 and msg.layout ~= LAYOUT_LIGHT then
            if blen ~= FAIL_BODY then
                malformed(msg, e.length, string.format("FAIL body of %d bytes (40): totlen should be %d", blen, hlen + FAIL_BODY))
            elseif has(msg, bstart, 40) then
                tree:add(f.fail_name, t(bstart, 40))
                body_info = " about=" .. short_id(t:raw(bstart, 40))
            end
        elseif ty == 4 or ty == 10 then
            body_info = dissect_publish(msg, bstart, blen, hlen)
        elseif ty == 9 then
            body_info = dissect_module(msg, bstart, blen, hlen)
        elseif msg.layout ~= LAYOUT_LIGHT and (ty == 5 or ty == 6 or ty == 8) then
            if blen ~= 0 then
                malformed(msg, e.length, string.format("%s carries %d body bytes (header only)", name, blen))
            end
        elseif ty == 7 and msg.layout ~= LAYOUT_LIGHT then
            body_info = dissect_update(msg, bstart, blen, hlen)
        elseif msg.layout ~= LAYOUT_LIGHT then
            tree:add_proto_expert_info(e.unknown_type, "type " .. ty .. " (servers log and ignore it)")
            local r = rng(msg, bstart, math.min(blen, avail - bstart))
            if r then
                tree:add(f.data, r)
            end
        end
    end
    if avail < totlen then
        tree:add_proto_expert_info(e.truncated, string.format("%d of %d bytes captured", avail, totlen))
        info = info .. " (truncated)"
    end
    if msg.bad then
        info = info .. " (malformed)"
    end
    tree:append_text(string.format(", %s%s, %d bytes", name,
        msg.sender and (" from " .. msg.sender) or (msg.layout == LAYOUT_LIGHT and " (light header, no sender)" or ""),
        totlen))
    return info .. body_info
end

---------------------------------------------------------------------------
-- Stream: framing, desegmentation, resynchronisation
---------------------------------------------------------------------------

local function set_info(pinfo, state, text)
    if state.first then
        pinfo.cols.protocol = "RCmb"
        pinfo.cols.info = text
        state.first = false
    else
        pinfo.cols.info:append(" | " .. text)
    end
end

local function one_message(tvb, pinfo, tree, state, off, totlen, avail)
    local sub = tvb(off, avail):tvb()
    local ok, res = pcall(dissect_message, sub, pinfo, tree, totlen, avail)
    if not ok then
        tree:add_proto_expert_info(e.internal, "rcmb.lua: " .. tostring(res))
        res = "RCmb (dissector error)"
    end
    set_info(pinfo, state, res)
end

-- Finds the next plausible message start in [from, len). Returns its
-- offset and "yes" (a plausible header), "need" (plausible so far, cut by
-- the end of the payload) or "partial" (the payload ends with 1 to 3 bytes
-- of the signature); nil when there is none.
local function hunt(tvb, from, len, max_totlen)
    local s = tvb:raw(from, len - from)
    local i = 1
    while true do
        local p = string.find(s, SIGNATURE, i, true)
        if not p then
            break
        end
        local at = from + p - 1
        local verdict = probe(tvb, at, len - at, max_totlen)
        if verdict ~= "no" then
            return at, verdict
        end
        i = p + 1
    end
    for k = 3, 1, -1 do
        if #s >= k and string.sub(s, -k) == string.sub(SIGNATURE, 1, k) then
            return len - k, "partial"
        end
    end
    return nil
end

-- A TLS record header (content type 20-23, version 3.x): a bus with
-- `tls-cluster yes` on a registered port is left to the TLS dissector.
local function looks_like_tls(tvb)
    if tvb:len() < 3 then
        return false
    end
    local ct, major = tvb(0, 1):uint(), tvb(1, 1):uint()
    return ct >= 20 and ct <= 23 and major == 3
end

-- TCP streams (tcp.stream) in which a message was seen.
local tcp_stream = Field.new("tcp.stream")
local bus_streams = {}

function rcmb.init()
    bus_streams = {}
end

local function stream_id()
    local fi = tcp_stream()
    return fi and fi.value
end

-- Dissects the messages of one TCP payload of a connection taken as the
-- bus (a registered port, or claimed by the heuristic). Bytes that are not
-- a message start are searched for one, as meetgraph resynchronises (the
-- rest of a message whose start was not captured, or junk); when the
-- payload holds none it is still kept (shown as such), so that no other
-- dissector's heuristic takes a bus connection joined mid-way -- unless it
-- looks like TLS and no message was seen in this connection. Returns the
-- bytes consumed (0: not taken).
local function dissect_stream(tvb, pinfo, tree)
    local len = tvb:len()
    local max_totlen = rcmb.prefs.max_totlen
    local state = { first = true }
    local off = 0
    local can_reassemble = pinfo.can_desegment > 0 and tvb:len() == tvb:reported_len()
    local sid = stream_id()
    while off < len do
        local rem = len - off
        local n = math.min(rem, 4)
        if tvb:raw(off, n) ~= string.sub(SIGNATURE, 1, n) then
            -- Not a message start: find one (meetgraph's resynchronisation).
            local at, verdict = hunt(tvb, off, len, max_totlen)
            if off == 0 and not at and looks_like_tls(tvb) and not (sid and bus_streams[sid]) then
                return 0
            end
            if verdict == "partial" and not can_reassemble then
                at = nil
            end
            local stop = at or len
            if stop > off then
                local it = tree:add(rcmb, tvb(off, stop - off))
                it:append_text(", bytes before a message start")
                it:add(f.skipped, tvb(off, stop - off))
                if off == 0 then
                    it:add_proto_expert_info(e.resync, string.format(
                        "%d bytes are not a message start (the rest of a message whose start was not captured, or junk)",
                        stop - off))
                else
                    it:add_proto_expert_info(e.signature, string.format(
                        "%d bytes after a message do not start with RCmb", stop - off))
                end
                if state.first then
                    pinfo.cols.protocol = "RCmb"
                    pinfo.cols.info = "[continuation]"
                    state.first = false
                end
            end
            if not at then
                return len
            end
            if verdict ~= "yes" and can_reassemble then
                -- A start cut by the end of the payload: continue with the
                -- next segment.
                pinfo.desegment_offset = at
                pinfo.desegment_len = ONE_MORE
                return len
            end
            off = at
            rem = len - off
        end
        if rem < 8 then
            if can_reassemble then
                pinfo.desegment_offset = off
                pinfo.desegment_len = ONE_MORE
                return len
            end
            local it = tree:add(rcmb, tvb(off, rem))
            it:add_proto_expert_info(e.truncated, "message start cut after " .. rem .. " bytes")
            set_info(pinfo, state, "RCmb (truncated)")
            return len
        end
        local totlen = tvb(off + 4, 4):uint()
        if totlen < MIN_TOTLEN or totlen > max_totlen then
            local it = tree:add(rcmb, tvb(off, rem))
            it:add(f.sig, tvb(off, 4))
            it:add(f.totlen, tvb(off + 4, 4))
            it:add_proto_expert_info(e.impossible, string.format(
                "totlen %d (a message is %d to %d bytes): the rest of this segment is not decoded", totlen,
                MIN_TOTLEN, max_totlen))
            set_info(pinfo, state, "RCmb (impossible totlen " .. totlen .. ")")
            return len
        end
        if rem < totlen then
            if can_reassemble then
                pinfo.desegment_offset = off
                pinfo.desegment_len = totlen - rem
                return len
            end
            one_message(tvb, pinfo, tree, state, off, totlen, rem)
            return len
        end
        if sid then
            bus_streams[sid] = true
        end
        one_message(tvb, pinfo, tree, state, off, totlen, totlen)
        off = off + totlen
    end
    return len
end

function rcmb.dissector(tvb, pinfo, tree)
    local ok, res = pcall(dissect_stream, tvb, pinfo, tree)
    if not ok then
        tree:add_proto_expert_info(e.internal, "rcmb.lua: " .. tostring(res))
        return tvb:len()
    end
    return res
end

-- Heuristic, any port: a payload that starts with RCmb and a sane totlen
-- (and version), or that holds a plausible header further on (a connection
-- joined mid-way). It claims the connection, both directions.
local function heuristic(tvb, pinfo, tree)
    if not rcmb.prefs.heuristic then
        return false
    end
    local len = tvb:len()
    if len < 4 then
        return false
    end
    if tvb:raw(0, 4) == SIGNATURE then
        if len >= 8 then
            local totlen = tvb(4, 4):uint()
            if totlen < MIN_TOTLEN or totlen > rcmb.prefs.max_totlen then
                return false
            end
        end
        if len >= 10 and tvb(8, 2):uint() > 1 then
            return false
        end
    else
        local ok, at, verdict = pcall(hunt, tvb, 0, len, rcmb.prefs.max_totlen)
        if not (ok and at and verdict == "yes") then
            return false
        end
    end
    pinfo.conversation = rcmb
    local ok, res = pcall(dissect_stream, tvb, pinfo, tree)
    if not ok then
        tree:add_proto_expert_info(e.internal, "rcmb.lua: " .. tostring(res))
    end
    return true
end

rcmb:register_heuristic("tcp", heuristic)

local registered_ports = nil
local function register_ports()
    local tcp = DissectorTable.get("tcp.port")
    if registered_ports and registered_ports ~= "" then
        pcall(function() tcp:remove(registered_ports, rcmb) end)
    end
    registered_ports = rcmb.prefs.ports and tostring(rcmb.prefs.ports) or DEFAULT_PORTS
    if registered_ports ~= "" then
        pcall(function() tcp:add(registered_ports, rcmb) end)
    end
end

function rcmb.prefs_changed()
    register_ports()
end

register_ports()
