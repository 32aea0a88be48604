import { defineScript } from '@redis/client';
import type { CommandParser } from '@redis/client';

/*
 * The accumulator algorithms of src/engine/limiters/state.ts and calendar.ts, line for line in
 * Lua, so one script per decision can check and take every charge atomically inside Redis. The
 * same IEEE double operations run in the same order, so a Redis accumulator and a memory one fed
 * the same charges at the same times hold bit-identical state (the differential tests prove it).
 *
 * State lives in one string per accumulator, packed with cmsgpack (it keeps doubles exact, where
 * cjson rounds to 14 digits). Numbers leave a script as '%.17g' strings: Redis would truncate a
 * Lua number reply to an integer.
 *
 * Charge arguments, six per charge: type, a, b, c, amount, extra
 *   bucket   a = ratePerMs  b = burst
 *   window   a = windowMs   b = limit
 *   calendar a = unit       b = limit  c = alert thresholds, comma separated
 *   rolling  a = windowMs   b = limit  c = alert thresholds
 *   trace    a = ttlMs      b = limit
 *   distinct a = windowMs   b = limit  c = the name this charge adds
 * `extra` is the force flag when reserving, the held slot when settling.
 */

const COMMON = String.raw`
local EPS = 1e-9
local SLOTS = 1024
local DAY = 86400000

local function fmt(x) return string.format('%.17g', x) end

-- Time: the server's clock unless the caller passes one (tests replaying simulated time).
local function clock(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Howard Hinnant's civil calendar conversions: UTC months without os.date.
local function daysFromCivil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civilFromDays(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m
end

local function periodStart(unit, now)
  local days = math.floor(now / DAY)
  local day = days * DAY
  if unit == 'day' then return day end
  if unit == 'week' then return day - ((days + 3) % 7) * DAY end
  local y, m = civilFromDays(days)
  return daysFromCivil(y, m, 1) * DAY
end

local function periodEnd(unit, now)
  local start = periodStart(unit, now)
  if unit == 'day' then return start + DAY end
  if unit == 'week' then return start + 7 * DAY end
  local y, m = civilFromDays(math.floor(start / DAY))
  if m == 12 then y = y + 1; m = 1 else m = m + 1 end
  return daysFromCivil(y, m, 1) * DAY
end

local function parseAlerts(s)
  local out = {}
  if s == nil or s == '' then return out end
  for part in string.gmatch(s, '[^,]+') do out[#out + 1] = tonumber(part) end
  return out
end

local function specAt(i)
  local t = ARGV[i]
  local spec = { type = t }
  if t == 'bucket' then spec.ratePerMs = tonumber(ARGV[i + 1]); spec.burst = tonumber(ARGV[i + 2])
  elseif t == 'window' then spec.windowMs = tonumber(ARGV[i + 1]); spec.limit = tonumber(ARGV[i + 2])
  elseif t == 'calendar' then spec.unit = ARGV[i + 1]; spec.limit = tonumber(ARGV[i + 2]); spec.alertAt = parseAlerts(ARGV[i + 3])
  elseif t == 'rolling' then spec.windowMs = tonumber(ARGV[i + 1]); spec.limit = tonumber(ARGV[i + 2]); spec.alertAt = parseAlerts(ARGV[i + 3])
  elseif t == 'trace' then spec.ttlMs = tonumber(ARGV[i + 1]); spec.limit = tonumber(ARGV[i + 2])
  elseif t == 'distinct' then spec.windowMs = tonumber(ARGV[i + 1]); spec.limit = tonumber(ARGV[i + 2]); spec.member = ARGV[i + 3]
  else error('unknown accumulator type ' .. tostring(t)) end
  return spec
end

local function newWindow() return { slots = {}, times = {}, amounts = {}, total = 0 } end

local function slotWidth(windowMs) return math.max(1, math.floor(windowMs / SLOTS)) end

local function expireWindow(w, windowMs, now)
  local n = #w.slots
  local drop = 0
  while drop < n and w.times[drop + 1] + windowMs <= now do
    w.total = w.total - w.amounts[drop + 1]
    drop = drop + 1
  end
  if drop > 0 then
    local s, t, a = {}, {}, {}
    for i = drop + 1, n do s[#s + 1] = w.slots[i]; t[#t + 1] = w.times[i]; a[#a + 1] = w.amounts[i] end
    w.slots, w.times, w.amounts = s, t, a
  end
  if #w.slots == 0 then w.total = 0 end
end

local function addToWindow(w, windowMs, now, amount)
  local slot = math.floor(now / slotWidth(windowMs))
  local last = #w.slots
  if last >= 1 and w.slots[last] == slot then
    w.amounts[last] = w.amounts[last] + amount
    w.times[last] = math.max(w.times[last], now)
  else
    w.slots[last + 1] = slot
    w.times[last + 1] = now
    w.amounts[last + 1] = amount
  end
  w.total = w.total + amount
  return slot
end

local function adjustWindow(w, slot, delta)
  for i = #w.slots, 1, -1 do
    if w.slots[i] == slot then
      local nextAmount = math.max(0, w.amounts[i] + delta)
      w.total = w.total + (nextAmount - w.amounts[i])
      w.amounts[i] = nextAmount
      return
    end
    if w.slots[i] < slot then return end
  end
end

local function windowRetry(w, windowMs, limit, amount, now)
  if amount > limit then return nil end
  local remaining = w.total
  for i = 1, #w.slots do
    remaining = remaining - w.amounts[i]
    if remaining + amount <= limit then return math.max(0, w.times[i] + windowMs - now) end
  end
  return 0
end

-- Names counted by a distinct accumulator; its state is { t, seen = { name = last seen } }.
local function distinctCount(v)
  local n = 0
  for _ in pairs(v.seen) do n = n + 1 end
  return n
end

local function current(spec, v, now)
  local t = spec.type
  if t == 'bucket' then
    if v == nil or v.t ~= 'bucket' then v = { t = 'bucket', level = spec.burst, at = now } end
    if now > v.at then
      v.level = math.min(spec.burst, v.level + (now - v.at) * spec.ratePerMs)
      v.at = now
    end
    if v.level > spec.burst then v.level = spec.burst end
    return v
  elseif t == 'window' then
    if v == nil or v.t ~= 'window' then v = newWindow(); v.t = 'window' end
    expireWindow(v, spec.windowMs, now)
    return v
  elseif t == 'calendar' then
    local period = periodStart(spec.unit, now)
    if v == nil or v.t ~= 'calendar' then v = { t = 'calendar', period = period, spent = 0, held = 0, alerted = {} } end
    if v.period ~= period then v.period = period; v.spent = 0; v.held = 0; v.alerted = {} end
    return v
  elseif t == 'rolling' then
    if v == nil or v.t ~= 'rolling' then v = { t = 'rolling', w = newWindow(), held = 0, alerted = {} } end
    expireWindow(v.w, spec.windowMs, now)
    return v
  elseif t == 'distinct' then
    if v == nil or v.t ~= 'distinct' then v = { t = 'distinct', seen = {} } end
    for name, at in pairs(v.seen) do
      if at + spec.windowMs <= now then v.seen[name] = nil end
    end
    return v
  else
    if v == nil or v.t ~= 'trace' then v = { t = 'trace', count = 0, expiresAt = now + spec.ttlMs } end
    if now >= v.expiresAt then v.count = 0; v.expiresAt = now + spec.ttlMs end
    return v
  end
end

local function usage(spec, v)
  if v.t == 'bucket' then return spec.burst - v.level, spec.burst
  elseif v.t == 'window' then return v.total, spec.limit
  elseif v.t == 'calendar' then return v.spent, spec.limit
  elseif v.t == 'rolling' then return v.w.total, spec.limit
  elseif v.t == 'distinct' then return distinctCount(v), spec.limit
  else return v.count, spec.limit end
end

-- What a charge adds to the use: a name already counted adds nothing.
local function added(spec, v, amount)
  if v.t == 'distinct' and v.seen[spec.member] ~= nil then return 0 end
  return amount
end

-- Returns ok, retryAfterMs (nil: waiting cannot help).
local function fits(spec, v, amount, now)
  if v.t == 'bucket' then
    if amount <= v.level + EPS then return true, 0 end
    if amount > spec.burst + EPS then return false, nil end
    return false, (amount - v.level) / spec.ratePerMs
  elseif v.t == 'window' then
    if v.total + amount <= spec.limit + EPS then return true, 0 end
    return false, windowRetry(v, spec.windowMs, spec.limit, amount, now)
  elseif v.t == 'calendar' then
    if v.spent + amount <= spec.limit + EPS then return true, 0 end
    if amount > spec.limit + EPS then return false, nil end
    return false, periodEnd(spec.unit, now) - now
  elseif v.t == 'rolling' then
    if v.w.total + amount <= spec.limit + EPS then return true, 0 end
    return false, windowRetry(v.w, spec.windowMs, spec.limit, amount, now)
  elseif v.t == 'distinct' then
    if v.seen[spec.member] ~= nil or distinctCount(v) + 1 <= spec.limit then return true, 0 end
    local oldest = nil
    for _, at in pairs(v.seen) do
      if oldest == nil or at < oldest then oldest = at end
    end
    return false, math.max(0, oldest + spec.windowMs - now)
  else
    if v.count + amount <= spec.limit then return true, 0 end
    return false, nil
  end
end

local function take(spec, v, amount, now)
  if v.t == 'bucket' then v.level = v.level - amount; return now
  elseif v.t == 'window' then return addToWindow(v, spec.windowMs, now, amount)
  elseif v.t == 'calendar' then v.spent = v.spent + amount; v.held = v.held + amount; return v.period
  elseif v.t == 'rolling' then v.held = v.held + amount; return addToWindow(v.w, spec.windowMs, now, amount)
  elseif v.t == 'distinct' then v.seen[spec.member] = now; return now
  else v.count = v.count + amount; return v.expiresAt end
end

local function indexOf(list, x)
  for i = 1, #list do if list[i] == x then return i end end
  return nil
end

local function crossings(spec, v, settled)
  local out = {}
  for _, threshold in ipairs(spec.alertAt or {}) do
    local crossed = settled >= threshold * spec.limit - 1e-9
    local at = indexOf(v.alerted, threshold)
    if crossed and at == nil then
      v.alerted[#v.alerted + 1] = threshold
      out[#out + 1] = threshold
    elseif (not crossed) and at ~= nil and v.t == 'rolling' then
      table.remove(v.alerted, at)
    end
  end
  return out
end

local function adjust(spec, v, slot, held, actual, final)
  local delta = actual - held
  if v.t == 'bucket' then
    v.level = math.min(spec.burst, v.level - delta)
    return {}
  elseif v.t == 'window' then
    adjustWindow(v, slot, delta)
    return {}
  elseif v.t == 'calendar' then
    if v.period ~= slot then return {} end
    v.spent = math.max(0, v.spent + delta)
    if final then v.held = math.max(0, v.held - held) end
    if final then return crossings(spec, v, v.spent - v.held) end
    return {}
  elseif v.t == 'rolling' then
    adjustWindow(v.w, slot, delta)
    if final then v.held = math.max(0, v.held - held) end
    if final then return crossings(spec, v, v.w.total - v.held) end
    return {}
  elseif v.t == 'distinct' then
    return {}
  else
    if v.expiresAt == slot then v.count = math.max(0, v.count + delta) end
    return {}
  end
end

-- How long the key must live: past that, a fresh state is the same as the stored one.
local function ttlOf(spec, v, now, holdTtl)
  if v.t == 'bucket' then return math.ceil((spec.burst - v.level) / spec.ratePerMs) + 1000
  elseif v.t == 'window' then return spec.windowMs + 1000
  elseif v.t == 'calendar' then return periodEnd(spec.unit, now) - now + holdTtl + 1000
  elseif v.t == 'rolling' then return spec.windowMs + holdTtl + DAY
  elseif v.t == 'distinct' then return spec.windowMs + 1000
  else return v.expiresAt - now + 1000 end
end

-- Accumulators touched by one script, loaded once each (a key charged twice shares one state,
-- as in the memory store) and written back once.
local loaded = {}
local loadedOrder = {}
local function load(key, spec, now)
  local entry = loaded[key]
  if entry == nil then
    local raw = redis.call('GET', key)
    local v = nil
    if raw then v = cmsgpack.unpack(raw) end
    entry = { spec = spec }
    loaded[key] = entry
    loadedOrder[#loadedOrder + 1] = key
    entry.v = v
  end
  entry.spec = spec
  entry.v = current(spec, entry.v, now)
  return entry.v
end

local function saveAll(now, gc, holdTtl)
  for _, key in ipairs(loadedOrder) do
    local entry = loaded[key]
    local packed = cmsgpack.pack(entry.v)
    if gc then
      local ttl = math.max(1000, math.floor(ttlOf(entry.spec, entry.v, now, holdTtl)))
      redis.call('SET', key, packed, 'PX', ttl)
    else
      redis.call('SET', key, packed)
    end
  end
end

local function joinNumbers(list)
  local parts = {}
  for i = 1, #list do parts[i] = fmt(list[i]) end
  return table.concat(parts, ',')
end
`;

/** KEYS: holds zset, holds hash, accumulators. ARGV: now, hold id, hold ttl, gc, then 6 per charge. */
const RESERVE = String.raw`
local now = clock(ARGV[1])
local holdId = ARGV[2]
local holdTtl = tonumber(ARGV[3])
local gc = ARGV[4] == '1'
local n = #KEYS - 2
local states, specs, amounts, forced = {}, {}, {}, {}
for i = 1, n do
  local base = 5 + (i - 1) * 6
  specs[i] = specAt(base)
  amounts[i] = tonumber(ARGV[base + 4])
  forced[i] = ARGV[base + 5] == '1'
  states[i] = load(KEYS[i + 2], specs[i], now)
end
local out = { '', fmt(now) }
local failed = false
local befores, limits, retries = {}, {}, {}
for i = 1, n do
  befores[i], limits[i] = usage(specs[i], states[i])
  local ok, retry = true, 0
  if not forced[i] then ok, retry = fits(specs[i], states[i], amounts[i], now) end
  if ok then retries[i] = '' else
    failed = true
    if retry == nil then retries[i] = 'null' else retries[i] = fmt(retry) end
  end
end
if failed then
  out[1] = '0'
  for i = 1, n do
    out[#out + 1] = fmt(befores[i]); out[#out + 1] = fmt(befores[i]); out[#out + 1] = fmt(limits[i]); out[#out + 1] = retries[i]; out[#out + 1] = ''
  end
  -- Refreshing (refill, expiry) changes no meaning but is written so the floating-point path
  -- matches the memory store's, which refreshes in place.
  saveAll(now, gc, holdTtl)
  return out
end
out[1] = '1'
local held = {}
for i = 1, n do
  local more = added(specs[i], states[i], amounts[i])
  local slot = take(specs[i], states[i], amounts[i], now)
  out[#out + 1] = fmt(befores[i]); out[#out + 1] = fmt(befores[i] + more); out[#out + 1] = fmt(limits[i]); out[#out + 1] = ''; out[#out + 1] = fmt(slot)
  local base = 5 + (i - 1) * 6
  held[i] = { KEYS[i + 2], ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], amounts[i], slot }
end
saveAll(now, gc, holdTtl)
-- The hold expires at a deadline: a proxy that lost Redis mid-call never settles it, and a later
-- settlement finalises it at its reserved worst case instead of leaving it held forever.
redis.call('ZADD', KEYS[1], now + holdTtl, holdId)
redis.call('HSET', KEYS[2], holdId, cmsgpack.pack(held))
return out
`;

/**
 * KEYS: holds zset, holds hash, accumulators. ARGV: now, hold id, hold ttl, gc, sweep limit,
 * then 6 per charge plus the actual amount (7 per charge).
 */
const SETTLE = String.raw`
local now = clock(ARGV[1])
local holdId = ARGV[2]
local holdTtl = tonumber(ARGV[3])
local gc = ARGV[4] == '1'
local sweepLimit = tonumber(ARGV[5])
local n = #KEYS - 2
local out = { '', fmt(now) }
local alertsOut = {}

-- Finalise holds past their deadline at their reserved amounts (a call whose proxy vanished
-- counts at its worst case), so held spend never lingers in a budget's alert arithmetic.
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, sweepLimit)
for _, id in ipairs(expired) do
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    for _, c in ipairs(cmsgpack.unpack(raw)) do
      local spec = { type = c[2] }
      local t = c[2]
      if t == 'bucket' then spec.ratePerMs = tonumber(c[3]); spec.burst = tonumber(c[4])
      elseif t == 'window' then spec.windowMs = tonumber(c[3]); spec.limit = tonumber(c[4])
      elseif t == 'calendar' then spec.unit = c[3]; spec.limit = tonumber(c[4]); spec.alertAt = parseAlerts(c[5])
      elseif t == 'rolling' then spec.windowMs = tonumber(c[3]); spec.limit = tonumber(c[4]); spec.alertAt = parseAlerts(c[5])
      elseif t == 'distinct' then spec.windowMs = tonumber(c[3]); spec.limit = tonumber(c[4]); spec.member = c[5]
      else spec.ttlMs = tonumber(c[3]); spec.limit = tonumber(c[4]) end
      local v = load(c[1], spec, now)
      local crossed = adjust(spec, v, c[7], c[6], c[6], true)
      local used, limit = usage(spec, v)
      for _, th in ipairs(crossed) do
        alertsOut[#alertsOut + 1] = c[1]; alertsOut[#alertsOut + 1] = fmt(th); alertsOut[#alertsOut + 1] = fmt(used); alertsOut[#alertsOut + 1] = fmt(limit)
      end
    end
  end
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
end

local live = redis.call('ZSCORE', KEYS[1], holdId)
out[1] = live and '1' or '0'
for i = 1, n do
  local base = 6 + (i - 1) * 7
  local spec = specAt(base)
  local v = load(KEYS[i + 2], spec, now)
  local before = usage(spec, v)
  local crossed = {}
  if live then crossed = adjust(spec, v, tonumber(ARGV[base + 5]), tonumber(ARGV[base + 4]), tonumber(ARGV[base + 6]), true) end
  local after, limit = usage(spec, v)
  out[#out + 1] = fmt(before); out[#out + 1] = fmt(after); out[#out + 1] = fmt(limit); out[#out + 1] = joinNumbers(crossed)
end
if live then
  redis.call('ZREM', KEYS[1], holdId)
  redis.call('HDEL', KEYS[2], holdId)
end
saveAll(now, gc, holdTtl)
out[#out + 1] = tostring(#expired)
for _, id in ipairs(expired) do out[#out + 1] = id end
for _, x in ipairs(alertsOut) do out[#out + 1] = x end
return out
`;

/** KEYS: accumulators. ARGV: now, then 6 per item. Reads only. */
const PEEK = String.raw`
local now = clock(ARGV[1])
local out = { fmt(now) }
for i = 1, #KEYS do
  local spec = specAt(2 + (i - 1) * 6)
  local raw = redis.call('GET', KEYS[i])
  local v = nil
  if raw then v = cmsgpack.unpack(raw) end
  v = current(spec, v, now)
  local used, limit = usage(spec, v)
  out[#out + 1] = fmt(used); out[#out + 1] = fmt(limit)
end
return out
`;

const GET_WITNESS = `return redis.call('GET', KEYS[1])`;

// ARGV: seq, ledger ('' for none), witness JSON. A head older than the one kept for the same ledger
// (a proxy stopping late, two writers racing) never replaces it.
const KEEP_WITNESS = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, kept = pcall(cjson.decode, current)
  if ok and type(kept) == 'table' then
    local ledger = kept.ledger
    if ledger == nil or ledger == cjson.null then ledger = '' end
    if ledger == ARGV[2] and tonumber(kept.seq) ~= nil and tonumber(kept.seq) >= tonumber(ARGV[1]) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
`;

// Revocations: one hash per namespace, a field per revoked target (revocation.ts's
// revocationField), each value `<revoked ms>|<expires ms>|<revocation JSON>`.
// ARGV: field, revoked ms, expires ms, JSON, now ms. A revocation no later than the one kept under
// its field changes nothing; revocations whose tokens have all expired are dropped.
const ADD_REVOCATION = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local at = tonumber(string.match(cur, '^(%d+)|'))
  if at and at >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local exp = tonumber(string.match(all[i + 1], '^%d+|(%d+)|'))
  if exp and exp <= tonumber(ARGV[5]) then redis.call('HDEL', KEYS[1], all[i]) end
end
return 1
`;

// ARGV: the fields a token could be revoked under; the values kept under them (false where none).
const GET_REVOCATIONS = `return redis.call('HMGET', KEYS[1], unpack(ARGV))`;

const ALL_REVOCATIONS = `return redis.call('HGETALL', KEYS[1])`;

// Generic reads of one hash: the values kept under some fields (false where none), or all of it.
const HASH_GET = `return redis.call('HMGET', KEYS[1], unpack(ARGV))`;
const HASH_ALL = `return redis.call('HGETALL', KEYS[1])`;

// ARGV: field, the value it was read with ('' for absent), the new value. Writes only when the
// field still holds what the caller read, so two proxies deciding at once never overwrite each
// other; 0 tells the caller to read again.
const HASH_SWAP = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

// Suspensions: KEYS[1] the hash of identity key -> suspension JSON. ARGV: key, JSON. The first
// proxy to suspend an identity keeps its suspension; 0 for the others.
const SUSPEND = `return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])`;

// KEYS: suspensions, resumptions (identity key -> times resumed). ARGV: pairs of key and the value
// it was read with. Lifts each still holding that value (one made again since stays in force) and
// counts the resumption; returns the keys lifted.
const RESUME = `
local lifted = {}
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('HINCRBY', KEYS[2], ARGV[i], 1)
    lifted[#lifted + 1] = ARGV[i]
  end
end
return lifted
`;

// A queue of records for some proxy to write (ARGV: entries), kept to its newest 10000.
const QUEUE_PUSH = `
redis.call('RPUSH', KEYS[1], unpack(ARGV))
redis.call('LTRIM', KEYS[1], -10000, -1)
return 1
`;

// Takes the whole queue, so each entry is taken by one proxy only.
const QUEUE_TAKE = `
local items = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return items
`;

// Tokens: KEYS tokens (id -> `<expires ms>|<JSON>`), uses (id -> last use ms). ARGV: now ms, then
// id, expires ms, JSON per token. Tokens past their expiry are dropped with their last use.
const TOKEN_ADD = `
for i = 2, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2])
end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local exp = tonumber(string.match(all[i + 1], '^(%d+)|'))
  if exp and exp <= tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], all[i])
    redis.call('HDEL', KEYS[2], all[i])
  end
end
return 1
`;

// KEYS tokens, uses. ARGV: id, use ms. Only a token the team registered has its use kept (an
// unknown id would grow the hash without bound), and a use never moves back.
const TOKEN_USE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if cur and cur >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`;

/**
 * A script as the Redis client runs it: by its SHA1, sent again with EVAL when the server has
 * forgotten it (a restart or a failover). Each call takes its keys, then its arguments.
 */
function script(source: string): ReturnType<typeof defineScript<LuaScriptConfig>> {
  return defineScript({
    SCRIPT: source,
    parseCommand(parser: CommandParser, keys: readonly string[], args: readonly string[]): void {
      parser.pushKeysLength([...keys]);
      parser.push(...args);
    },
    transformReply: (reply: unknown): unknown => reply,
  } as LuaScriptConfig);
}

interface LuaScriptConfig {
  SCRIPT: string;
  parseCommand(parser: CommandParser, keys: readonly string[], args: readonly string[]): void;
  transformReply: () => unknown;
}

/** Every script the store runs, registered with the client when it is created. */
export const LUA_SCRIPTS = {
  reserve: script(`${COMMON}\n${RESERVE}`),
  settle: script(`${COMMON}\n${SETTLE}`),
  peek: script(`${COMMON}\n${PEEK}`),
  witnessGet: script(GET_WITNESS),
  witnessKeep: script(KEEP_WITNESS),
  revocationAdd: script(ADD_REVOCATION),
  revocationGet: script(GET_REVOCATIONS),
  revocationAll: script(ALL_REVOCATIONS),
  hashGet: script(HASH_GET),
  hashAll: script(HASH_ALL),
  hashSwap: script(HASH_SWAP),
  suspend: script(SUSPEND),
  resume: script(RESUME),
  queuePush: script(QUEUE_PUSH),
  queueTake: script(QUEUE_TAKE),
  tokenAdd: script(TOKEN_ADD),
  tokenUse: script(TOKEN_USE),
};

export type LuaScriptName = keyof typeof LUA_SCRIPTS;
