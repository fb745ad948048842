-- wrk script for tools/benchmark.py: one connection per wrk thread, so the
-- per-thread Lua state is per-connection state.
--
--   wrk -t N -c N -s tools/bench.lua URL -- MODE EXPECT ARG...
--
-- MODE get    GET the URL's path; EXPECT the status (200, 404).
-- MODE cycle  attach then detach, alternating, on this connection's own
--             server: ARG = "net" or "port", then a comma-separated list
--             of "server_id/id" pairs (one per connection): id is the
--             net_id or the port_id to attach.
--
-- Every request's latency is timed here (CLOCK_MONOTONIC through LuaJIT's
-- ffi) and written, one line "kind microseconds status" per request, to
-- OUTDIR/lat-<thread>.txt; tools/benchmark.py computes the percentiles.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")

local function now_us()
   ffi.C.clock_gettime(1, ts)
   return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local counter = 0

function setup(thread)
   thread:set("index", counter)
   counter = counter + 1
end

local mode, expect, kind, server, target, prefix, out, post_headers
local attached = nil      -- port_id attached by the last POST, if any
local pending = nil       -- kind of the request in flight
local started = 0

function init(args)
   mode = args[1]
   expect = tonumber(args[2])
   out = io.open(args[3] .. "/lat-" .. index .. ".txt", "w")
   -- Line-buffered: wrk never closes a thread's Lua state.
   out:setvbuf("line")
   prefix = wrk.path
   if mode == "cycle" then
      kind = args[4]
      local pairs_ = {}
      for pair in string.gmatch(args[5], "[^,]+") do
         table.insert(pairs_, pair)
      end
      server, target = string.match(pairs_[index + 1], "([^/]+)/([^/]+)")
   end
   local project = string.match(prefix, "^/v2/([^/]+)") or "none"
   wrk.headers["Accept"] = "application/json"
   wrk.headers["X-Auth-Token"] = "bench:" .. project
   -- wrk.format() takes these instead of wrk.headers, not on top of them.
   post_headers = {["Content-Type"] = "application/json"}
   for name, value in pairs(wrk.headers) do
      post_headers[name] = value
   end
end

local get_request = nil

function request()
   started = now_us()
   if mode == "get" then
      pending = "get"
      if get_request == nil then
         get_request = wrk.format("GET", prefix)
      end
      return get_request
   end
   local base = prefix .. "/servers/" .. server .. "/os-interface"
   if attached == nil then
      pending = "attach"
      local body
      if kind == "net" then
         body = '{"interfaceAttachment": {"net_id": "' .. target .. '"}}'
      else
         body = '{"interfaceAttachment": {"port_id": "' .. target .. '"}}'
      end
      return wrk.format("POST", base, post_headers, body)
   end
   pending = "detach"
   return wrk.format("DELETE", base .. "/" .. attached)
end

function response(status, headers, body)
   out:write(pending, " ", math.floor(now_us() - started), " ", status, "\n")
   if pending == "attach" and status == 200 then
      attached = string.match(body, '"port_id": "([0-9a-f%-]+)"')
   elseif pending == "detach" and (status == 202 or status == 404) then
      -- Anything else: the port may still be attached; detach again.
      attached = nil
   end
end
