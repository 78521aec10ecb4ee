// In-process micro-benchmark of the request handlers: everything after HTTP parsing, for the
// password grant, the rotating refresh grant and a Bearer product-API call. No sockets and no
// threads, so its figures (and callgrind's instruction counts) do not depend on the HTTP layer.
//
//   build/dev/bench/bench_handler                  # ns/op (Google Benchmark)
//   build/dev/bench/bench_handler --benchmark_filter=Snapshot   # the state file's snapshot
//
// Wall time moves with whatever else runs on the machine; instruction counts do not. Instructions
// per op: run a fixed count under callgrind, once with --ops=0 (setup only) and once with N,
// and divide the difference of the "Collected" totals by N:
//
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null
//       build/dev/bench/bench_handler --op=password --ops=20000    (and --ops=0)
//
// (--op=password|refresh|product; valgrind is not among the build dependencies.)
#include <benchmark/benchmark.h>
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "control/scenario.h"
#include "http/form.h"
#include "oauth/fixture.h"
#include "oauth/request_context.h"
#include "oauth/token_endpoint.h"
#include "product/product_api.h"

namespace mock2ba {
namespace {

constexpr char kBaseUrl[] = "http://127.0.0.1:8080";
constexpr char kClient[] = "&client_id=demo-client&client_secret=demo-secret";
constexpr char kPasswordForm[] = "grant_type=password&username=demo&password=demo";
constexpr char kProductTarget[] = "/1/json/Product/DetailsForProduct?gtin=08711893010011";
// Each token request moves the virtual clock on by a millisecond, as under a load test. Nothing
// expires within a run (1 h access tokens), so no purge sweep runs: the figures are the per-request
// work; the store grows by one grant per password grant (a run is well under a million).
constexpr TimeMs kStepMs = 1;

std::shared_ptr<Scenario> make_scenario() {
  auto fixture =
      std::make_shared<const Fixture>(load_fixture_file(TWOBA_FIXTURE_DIR "/default.json"));
  return std::make_shared<Scenario>("", std::move(fixture), 0);
}

httplib::Request token_request(std::string body) {
  httplib::Request req;
  req.method = "POST";
  req.path = "/OAuth/Token";
  req.target = req.path;
  req.headers.emplace("Content-Type", "application/x-www-form-urlencoded");
  req.headers.emplace("Content-Length", std::to_string(body.size()));
  req.body = std::move(body);
  return req;
}

// One request through a handler as the server runs it: state lookup, RequestContext, handler.
template <typename Handler>
httplib::Response serve(Scenario& scenario, const httplib::Request& req, const char* route,
                        TimeMs now, Handler handler) {
  httplib::Response res;
  RequestContext ctx{req, res, scenario.state(), kBaseUrl, route};
  ctx.now = now;
  handler(ctx);
  if (res.status != 200) {
    std::fprintf(stderr, "%s %s: %d %s\n", req.method.c_str(), route, res.status, res.body.c_str());
    std::abort();
  }
  return res;
}

std::string member(const std::string& body, const char* name) {
  return nlohmann::json::parse(body).at(name).get<std::string>();
}

// Each operation is a class so the Google Benchmark cases and the fixed-count mode (for
// callgrind) run exactly the same code. Each has its own scenario state.
class Operation {
 protected:
  Operation() : scenario_(make_scenario()), now_(scenario_->state()->clock.now_ms()) {}
  // A password grant's reply body.
  std::string login() {
    return serve(*scenario_, token_request(std::string(kPasswordForm) + kClient), "/oauth/token",
                 now_, handle_token_endpoint)
        .body;
  }

  std::shared_ptr<Scenario> scenario_;
  TimeMs now_;
};

class PasswordOp : public Operation {
 public:
  void run() {
    now_ += kStepMs;
    benchmark::DoNotOptimize(
        serve(*scenario_, req_, "/oauth/token", now_, handle_token_endpoint).body.size());
  }

 private:
  httplib::Request req_ = token_request(std::string(kPasswordForm) + kClient);
};

class RefreshOp : public Operation {
 public:
  RefreshOp() : refresh_token_(member(login(), "refresh_token")) {}
  void run() {
    now_ += kStepMs;
    auto req = token_request(
        "grant_type=refresh_token&refresh_token=" + form_encode(refresh_token_) + kClient);
    auto res = serve(*scenario_, req, "/oauth/token", now_, handle_token_endpoint);
    // The next refresh presents this reply's token, as a client does (rotation). Found by hand,
    // not with a JSON parser, to keep the client's cost out of the figure.
    static constexpr char kKey[] = "\"refresh_token\":\"";
    size_t at = res.body.find(kKey);
    if (at == std::string::npos) std::abort();
    at += sizeof kKey - 1;
    refresh_token_.assign(res.body, at, res.body.find('"', at) - at);
  }

 private:
  std::string refresh_token_;
};

class ProductOp : public Operation {
 public:
  ProductOp() {
    req_.method = "GET";
    req_.target = kProductTarget;
    req_.path = req_.target.substr(0, req_.target.find('?'));
    req_.headers.emplace("Authorization", "Bearer " + member(login(), "access_token"));
  }
  // The clock stands still: the one access token must stay valid.
  void run() {
    benchmark::DoNotOptimize(
        serve(*scenario_, req_, "/1/json/product/detailsforproduct", now_, handle_product_api)
            .body.size());
  }

 private:
  httplib::Request req_;
};

template <typename Op>
void run_benchmark(benchmark::State& state) {
  Op op;
  for (auto _ : state) op.run();
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(run_benchmark<PasswordOp>)->Name("Password");
BENCHMARK(run_benchmark<RefreshOp>)->Name("Refresh");
BENCHMARK(run_benchmark<ProductOp>)->Name("Product");

// The state file's full snapshot of a store of 10,000 grants (one password grant each), written
// as --state-file writes it under the store's mutex. The store is filled once; each iteration
// writes the whole snapshot again into a reused buffer.
void snapshot_of_10000_grants(benchmark::State& state) {
  auto scenario = make_scenario();
  TimeMs now = scenario->state()->clock.now_ms();
  httplib::Request req = token_request(std::string(kPasswordForm) + kClient);
  for (int i = 0; i < 10000; ++i) {
    now += kStepMs;
    serve(*scenario, req, "/oauth/token", now, handle_token_endpoint);
  }
  std::string out;
  for (auto _ : state) {
    out.clear();
    scenario->state()->store.write_snapshot(out, now);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(snapshot_of_10000_grants)->Name("Snapshot10000Grants")->Unit(benchmark::kMillisecond);

// --ops=N --op=password|refresh|product: exactly N operations after setup, no timing, for
// `valgrind --tool=callgrind` (instructions per op = (Ir at N) - (Ir at 0), divided by N).
// Exits without tearing the store down, so that its destruction is not counted as work per op.
template <typename Op>
[[noreturn]] void run_fixed(long ops) {
  Op op;
  for (long i = 0; i < ops; ++i) op.run();
  std::fflush(nullptr);
  std::_Exit(0);
}

}  // namespace
}  // namespace mock2ba

int main(int argc, char** argv) {
  const char* op = nullptr;
  long ops = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--ops=", 6) == 0) ops = std::atol(argv[i] + 6);
    if (std::strncmp(argv[i], "--op=", 5) == 0) op = argv[i] + 5;
  }
  if (ops >= 0) {
    std::string name = op ? op : "";
    if (name == "password") {
      mock2ba::run_fixed<mock2ba::PasswordOp>(ops);
    } else if (name == "refresh") {
      mock2ba::run_fixed<mock2ba::RefreshOp>(ops);
    } else if (name == "product") {
      mock2ba::run_fixed<mock2ba::ProductOp>(ops);
    } else {
      std::fprintf(stderr, "--ops needs --op=password|refresh|product\n");
      return 2;
    }
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
