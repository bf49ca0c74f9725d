#include "common.hpp"
#include "mlsd/metrics.hpp"

namespace mlsd::bindings {

namespace mm = mlsd::metrics;
using u8 = carray<std::uint8_t>;
using f64 = carray<double>;
using opt_f64 = std::optional<f64>;

namespace {

template <class T>
void def_to_binary_labels(py::module_& m) {
  m.def(
      "to_binary_labels",
      [](const carray<T>& y) {
        carray<std::uint8_t> out(y.size());
        auto in = view(y);
        auto dst = mutable_view(out);
        without_gil([&] { mm::to_binary_labels<T>(in, dst); });
        return out;
      },
      py::arg("y").noconvert());
}

}  // namespace

void register_metrics(py::module_& m) {
  py::enum_<mm::RankingMetric>(m, "RankingMetric")
      .value("dcg", mm::RankingMetric::dcg)
      .value("ndcg", mm::RankingMetric::ndcg)
      .value("precision", mm::RankingMetric::precision)
      .value("recall", mm::RankingMetric::recall)
      .value("hit_rate", mm::RankingMetric::hit_rate)
      .value("reciprocal_rank", mm::RankingMetric::reciprocal_rank)
      .value("average_precision", mm::RankingMetric::average_precision);
  py::enum_<mm::Gain>(m, "Gain").value("linear", mm::Gain::linear).value("exponential", mm::Gain::exponential);
  py::enum_<mm::EmptyAction>(m, "EmptyAction")
      .value("zero", mm::EmptyAction::zero)
      .value("one", mm::EmptyAction::one)
      .value("skip", mm::EmptyAction::skip)
      .value("error", mm::EmptyAction::error);

  m.def(
      "check_binary_labels", [](const u8& y) { return call_without_gil(mm::check_binary_labels, y); },
      py::arg("y").noconvert());
  def_to_binary_labels<std::int8_t>(m);
  def_to_binary_labels<std::int32_t>(m);
  def_to_binary_labels<std::int64_t>(m);
  def_to_binary_labels<float>(m);
  def_to_binary_labels<double>(m);

  m.def(
      "roc_curve",
      [](const u8& y, const f64& s, const opt_f64& w, bool drop) {
        auto r = call_without_gil([drop](auto... v) { return mm::roc_curve(v..., drop); }, y, s, w);
        return numpy_tuple(std::move(r.fpr), std::move(r.tpr), std::move(r.thresholds));
      },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("drop_intermediate"));
  m.def(
      "precision_recall_curve",
      [](const u8& y, const f64& s, const opt_f64& w, bool drop) {
        auto r = call_without_gil([drop](auto... v) { return mm::precision_recall_curve(v..., drop); }, y, s, w);
        return numpy_tuple(std::move(r.precision), std::move(r.recall), std::move(r.thresholds));
      },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("drop_intermediate"));
  m.def(
      "roc_auc",
      [](const u8& y, const f64& s, const opt_f64& w, double max_fpr) {
        return call_without_gil([max_fpr](auto... v) { return mm::roc_auc(v..., max_fpr); }, y, s, w);
      },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("max_fpr"));
  m.def(
      "average_precision",
      [](const u8& y, const f64& s, const opt_f64& w) { return call_without_gil([](auto... v) { return mm::average_precision(v...); }, y, s, w); },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert());
  // Score tables cross as (score, positive, negative) tuples of float64 arrays.
  using table = std::tuple<f64, f64, f64>;
  auto table_view = [](const table& t) {
    return mm::ScoreTableView{view(std::get<0>(t)), view(std::get<1>(t)), view(std::get<2>(t))};
  };
  auto table_out = [](mm::ScoreTable&& t) {
    return numpy_tuple(std::move(t.score), std::move(t.positive), std::move(t.negative));
  };
  m.def(
      "score_table",
      [table_out](const u8& y, const f64& s, const opt_f64& w) {
        return table_out(call_without_gil(mm::score_table, y, s, w));
      },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert());
  m.def(
      "binned_score_table",
      [table_out](const u8& y, const f64& s, const opt_f64& w, double lo, double hi, std::int64_t n_bins) {
        return table_out(call_without_gil(
            [=](auto... v) { return mm::binned_score_table(v..., lo, hi, n_bins); }, y, s, w));
      },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("lo"), py::arg("hi"), py::arg("n_bins"));
  m.def(
      "merge_score_tables",
      [table_view, table_out](const std::vector<table>& tables) {
        std::vector<mm::ScoreTableView> views;
        for (const auto& t : tables) views.push_back(table_view(t));
        return table_out(without_gil([&] { return mm::merge_score_tables(views); }));
      },
      py::arg("tables"));
  // Rows regrouped by score range: (y_true, y_score, sample_weight or None, offsets, positive, negative).
  m.def(
      "split_score_ranges",
      [](const u8& y, const f64& s, const opt_f64& w, const f64& cuts) {
        const auto c = view(cuts);
        auto r = call_without_gil([c](auto... v) { return mm::split_score_ranges(v..., c); }, y, s, w);
        py::object weight = py::none();
        if (w) weight = to_numpy(std::move(r.sample_weight));
        return py::make_tuple(to_numpy(std::move(r.y_true)), to_numpy(std::move(r.y_score)), weight,
                              to_numpy(std::move(r.offsets)), to_numpy(std::move(r.positive)),
                              to_numpy(std::move(r.negative)));
      },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("cuts").noconvert());
  // A block's pieces cross as a list of (y_true, y_score, sample_weight or None, offsets) tuples.
  using piece = std::tuple<u8, f64, opt_f64, carray<std::int64_t>>;
  auto piece_views = [](const std::vector<piece>& pieces) {
    std::vector<mm::RangePiece> views;
    for (const auto& [y, s, w, at] : pieces)
      views.push_back({view(y), view(s), w ? view(*w) : std::span<const double>{}, view(at)});
    return views;
  };
  m.def(
      "threshold_range_sums",
      [piece_views](const std::vector<piece>& pieces, const f64& positive_above, const f64& negative_above,
                    double total_positive, double total_negative, double max_fpr) {
        const auto views = piece_views(pieces);
        const auto above_p = view(positive_above), above_n = view(negative_above);
        const auto r = without_gil([&] {
          return mm::threshold_range_sums(views, above_p, above_n, total_positive, total_negative, max_fpr);
        });
        std::vector<double> area, ap;
        for (const auto& x : r) area.push_back(x.roc_area), ap.push_back(x.average_precision);
        return numpy_tuple(std::move(area), std::move(ap));
      },
      py::arg("pieces"), py::arg("positive_above").noconvert(), py::arg("negative_above").noconvert(),
      py::arg("total_positive"), py::arg("total_negative"), py::arg("max_fpr"));
  m.def(
      "range_score_tables",
      [piece_views, table_out](const std::vector<piece>& pieces) {
        const auto views = piece_views(pieces);
        auto tables = without_gil([&] { return mm::range_score_tables(views); });
        py::list out;
        for (auto& t : tables) out.append(table_out(std::move(t)));
        return out;
      },
      py::arg("pieces"));
  m.def("standardized_partial_auc", &mm::standardized_partial_auc, py::arg("area"), py::arg("max_fpr"));
  m.def(
      "table_roc_auc",
      [table_view](const table& t, double max_fpr) {
        const auto v = table_view(t);
        return without_gil([&] { return mm::roc_auc(v, max_fpr); });
      },
      py::arg("table"), py::arg("max_fpr"));
  m.def(
      "table_average_precision",
      [table_view](const table& t) {
        const auto v = table_view(t);
        return without_gil([&] { return mm::average_precision(v); });
      },
      py::arg("table"));
  m.def(
      "table_roc_curve",
      [table_view](const table& t, bool drop) {
        const auto v = table_view(t);
        auto r = without_gil([&] { return mm::roc_curve(v, drop); });
        return numpy_tuple(std::move(r.fpr), std::move(r.tpr), std::move(r.thresholds));
      },
      py::arg("table"), py::arg("drop_intermediate"));
  m.def(
      "table_precision_recall_curve",
      [table_view](const table& t, bool drop) {
        const auto v = table_view(t);
        auto r = without_gil([&] { return mm::precision_recall_curve(v, drop); });
        return numpy_tuple(std::move(r.precision), std::move(r.recall), std::move(r.thresholds));
      },
      py::arg("table"), py::arg("drop_intermediate"));
  m.def(
      "log_loss_sums",
      [](const u8& y, const f64& p, const opt_f64& w, double eps) {
        const auto r = call_without_gil([eps](auto... v) { return mm::log_loss_sums(v..., eps); }, y, p, w);
        return std::make_tuple(r.loss, r.weight, r.positive);
      },
      py::arg("y_true").noconvert(), py::arg("y_prob").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("eps"));
  m.def(
      "brier_sums",
      [](const u8& y, const f64& p, const opt_f64& w) {
        const auto r = call_without_gil(mm::brier_sums, y, p, w);
        return std::make_tuple(r.loss, r.weight, r.positive);
      },
      py::arg("y_true").noconvert(), py::arg("y_prob").noconvert(), py::arg("sample_weight").noconvert());
  m.def(
      "calibration_bins",
      [](const u8& y, const f64& p, const opt_f64& w, const f64& inner_edges) {
        auto r = call_without_gil(mm::calibration_bins, y, p, w, inner_edges);
        return numpy_tuple(std::move(r.weight), std::move(r.sum_prob), std::move(r.sum_true));
      },
      py::arg("y_true").noconvert(), py::arg("y_prob").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("inner_edges").noconvert());
  m.def(
      "group_auc",
      [](const carray<std::int64_t>& groups, const u8& y, const f64& s, const opt_f64& w) {
        auto r = call_without_gil(mm::group_auc, groups, y, s, w);
        return numpy_tuple(std::move(r.group_keys), std::move(r.auc), std::move(r.weight));
      },
      py::arg("groups").noconvert(), py::arg("y_true").noconvert(), py::arg("y_score").noconvert(),
      py::arg("sample_weight").noconvert());

  m.def(
      "ranking_metric",
      [](mm::RankingMetric metric, const carray<std::int64_t>& indptr, const f64& relevance, const f64& score,
         std::int64_t k, mm::Gain gain, bool ignore_ties, mm::EmptyAction empty) {
        const auto n_queries = indptr.size() > 0 ? indptr.size() - 1 : 0;
        f64 out(n_queries);
        auto ip = view(indptr);
        auto rv = view(relevance);
        auto sv = view(score);
        auto ov = mutable_view(out);
        without_gil([&] {
          mm::ranking_metric(metric, CsrView{ip}, rv, sv, mm::RankingOptions{k, gain, ignore_ties, empty}, ov);
        });
        return out;
      },
      py::arg("metric"), py::arg("indptr").noconvert(), py::arg("relevance").noconvert(), py::arg("score").noconvert(),
      py::arg("k"), py::arg("gain"), py::arg("ignore_ties"), py::arg("empty"));
}

}  // namespace mlsd::bindings
