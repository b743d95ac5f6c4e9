-- The burst of `just bench-api` (scripts/bench-api.py): 80 % of requests pick a warmed page
-- at random, 20 % take the next page never asked before. Each wrk thread walks its own
-- share of the cold pages, so no page is asked twice. WUMP_BURST_DELAY_MS is each
-- client's pause between two requests (0: as fast as the server answers).

local created = 0

function setup(thread)
  thread:set("id", created)
  thread:set("step", tonumber(os.getenv("WUMP_BURST_THREADS")))
  created = created + 1
end

local function lines(path)
  local out = {}
  for line in io.lines(path) do
    out[#out + 1] = line
  end
  return out
end

function init(args)
  local dir = os.getenv("WUMP_BURST_DIR")
  hot = lines(dir .. "/hot.txt")
  cold = lines(dir .. "/cold.txt")
  next_cold = id + 1
  math.randomseed(id + 1)
  pause = tonumber(os.getenv("WUMP_BURST_DELAY_MS") or "0")
end

function delay()
  return pause
end

function request()
  if math.random() < 0.8 or next_cold > #cold then
    return wrk.format("GET", hot[math.random(#hot)])
  end
  local path = cold[next_cold]
  next_cold = next_cold + step
  return wrk.format("GET", path)
end
