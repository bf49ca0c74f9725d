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
        py::gil_scoped_release release;
        mm::to_binary_labels<T>(in, dst);
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
      "check_binary_labels",
      [](const u8& y) {
        auto v = view(y);
        py::gil_scoped_release release;
        return mm::check_binary_labels(v);
      },
      py::arg("y").noconvert());
  def_to_binary_labels<std::int8_t>(m);
  def_to_binary_labels<std::int32_t>(m);
  def_to_binary_labels<std::int64_t>(m);
  def_to_binary_labels<float>(m);
  def_to_binary_labels<double>(m);

  m.def(
      "roc_curve",
      [](const u8& y, const f64& s, const opt_f64& w, bool drop_intermediate) {
        mm::RocCurve r;
        {
          auto yv = view(y);
          auto sv = view(s);
          auto wv = view(w);
          py::gil_scoped_release release;
          r = mm::roc_curve(yv, sv, wv, drop_intermediate);
        }
        return py::make_tuple(to_numpy(std::move(r.fpr)), to_numpy(std::move(r.tpr)), to_numpy(std::move(r.thresholds)));
      },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("drop_intermediate"));

  m.def(
      "precision_recall_curve",
      [](const u8& y, const f64& s, const opt_f64& w, bool drop_intermediate) {
        mm::PrCurve r;
        {
          auto yv = view(y);
          auto sv = view(s);
          auto wv = view(w);
          py::gil_scoped_release release;
          r = mm::precision_recall_curve(yv, sv, wv, drop_intermediate);
        }
        return py::make_tuple(to_numpy(std::move(r.precision)), to_numpy(std::move(r.recall)),
                              to_numpy(std::move(r.thresholds)));
      },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("drop_intermediate"));

  m.def(
      "roc_auc",
      [](const u8& y, const f64& s, const opt_f64& w, double max_fpr) {
        auto yv = view(y);
        auto sv = view(s);
        auto wv = view(w);
        py::gil_scoped_release release;
        return mm::roc_auc(yv, sv, wv, max_fpr);
      },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("max_fpr"));

  m.def(
      "average_precision",
      [](const u8& y, const f64& s, const opt_f64& w) {
        auto yv = view(y);
        auto sv = view(s);
        auto wv = view(w);
        py::gil_scoped_release release;
        return mm::average_precision(yv, sv, wv);
      },
      py::arg("y_true").noconvert(), py::arg("y_score").noconvert(), py::arg("sample_weight").noconvert());

  m.def(
      "log_loss_sums",
      [](const u8& y, const f64& p, const opt_f64& w, double eps) {
        auto yv = view(y);
        auto pv = view(p);
        auto wv = view(w);
        py::gil_scoped_release release;
        const auto r = mm::log_loss_sums(yv, pv, wv, eps);
        return std::make_tuple(r.loss, r.weight, r.positive);
      },
      py::arg("y_true").noconvert(), py::arg("y_prob").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("eps"));

  m.def(
      "brier_sums",
      [](const u8& y, const f64& p, const opt_f64& w) {
        auto yv = view(y);
        auto pv = view(p);
        auto wv = view(w);
        py::gil_scoped_release release;
        const auto r = mm::brier_sums(yv, pv, wv);
        return std::make_tuple(r.loss, r.weight, r.positive);
      },
      py::arg("y_true").noconvert(), py::arg("y_prob").noconvert(), py::arg("sample_weight").noconvert());

  m.def(
      "calibration_bins",
      [](const u8& y, const f64& p, const opt_f64& w, const f64& inner_edges) {
        mm::BinnedStats r;
        {
          auto yv = view(y);
          auto pv = view(p);
          auto wv = view(w);
          auto ev = view(inner_edges);
          py::gil_scoped_release release;
          r = mm::calibration_bins(yv, pv, wv, ev);
        }
        return py::make_tuple(to_numpy(std::move(r.weight)), to_numpy(std::move(r.sum_prob)),
                              to_numpy(std::move(r.sum_true)));
      },
      py::arg("y_true").noconvert(), py::arg("y_prob").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("inner_edges").noconvert());

  m.def(
      "group_auc",
      [](const carray<std::int64_t>& groups, const u8& y, const f64& s, const opt_f64& w) {
        mm::GroupAucResult r;
        {
          auto gv = view(groups);
          auto yv = view(y);
          auto sv = view(s);
          auto wv = view(w);
          py::gil_scoped_release release;
          r = mm::group_auc(gv, yv, sv, wv);
        }
        return py::make_tuple(to_numpy(std::move(r.group_keys)), to_numpy(std::move(r.auc)),
                              to_numpy(std::move(r.weight)));
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
        {
          py::gil_scoped_release release;
          mm::ranking_metric(metric, CsrView{ip}, rv, sv, mm::RankingOptions{k, gain, ignore_ties, empty}, ov);
        }
        return out;
      },
      py::arg("metric"), py::arg("indptr").noconvert(), py::arg("relevance").noconvert(), py::arg("score").noconvert(),
      py::arg("k"), py::arg("gain"), py::arg("ignore_ties"), py::arg("empty"));
}

}  // namespace mlsd::bindings
