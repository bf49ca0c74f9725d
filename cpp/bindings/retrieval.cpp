#include "common.hpp"
#include "mlsd/retrieval.hpp"

namespace mlsd::bindings {

namespace mr = mlsd::retrieval;
using f32 = carray<float>;
using i64 = carray<std::int64_t>;
using u8 = carray<std::uint8_t>;

namespace {

template <class T, class Alloc>
py::array_t<T> to_numpy_2d(std::vector<T, Alloc>&& v, index_t rows, index_t cols) {
  return to_numpy(std::move(v)).reshape({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)});
}

py::tuple topk_tuple(mr::TopK&& r) {
  const index_t nq = r.n_queries, k = r.k;
  return py::make_tuple(to_numpy_2d(std::move(r.scores), nq, k), to_numpy_2d(std::move(r.ids), nq, k));
}

mr::SearchParams search_params(std::optional<int> nprobe, std::optional<int> ef_search) {
  mr::SearchParams p;
  p.nprobe = nprobe;
  p.ef_search = ef_search;
  return p;
}

mr::Allow allow_filter(bool active, std::span<const std::int64_t> ids, std::span<const std::uint8_t> mask = {}) {
  mr::Allow allow;
  allow.active = active;
  allow.ids = ids;
  allow.mask = mask;
  return allow;
}

}  // namespace

void register_retrieval(py::module_& m) {
  mr::enable_faiss_interrupts();  // Ctrl-C (or a cancel probe) stops Index.train's k-means
  py::enum_<mr::Metric>(m, "Metric")
      .value("ip", mr::Metric::inner_product)
      .value("l2", mr::Metric::l2)
      .value("cosine", mr::Metric::cosine);

  m.def(
      "knn",
      [](const f32& q, const f32& x, index_t d, index_t k, mr::Metric metric, const std::optional<i64>& ids,
         const std::optional<u8>& allow) {
        return topk_tuple(call_without_gil(
            [&](auto qv, auto xv, auto iv, auto av) { return mr::knn(qv, xv, d, k, metric, iv, av); }, q, x, ids,
            allow));
      },
      py::arg("queries").noconvert(), py::arg("items").noconvert(), py::arg("d"), py::arg("k"), py::arg("metric"),
      py::arg("ids").noconvert() = py::none(), py::arg("allow").noconvert() = py::none());

  m.def(
      "merge_topk",
      [](const std::vector<std::pair<f32, i64>>& parts, index_t k, mr::Metric metric) {
        std::vector<mr::TopK> tops;
        for (const auto& [s, i] : parts) {
          mr::TopK t;
          t.n_queries = s.ndim() == 2 ? s.shape(0) : 0;
          t.k = s.ndim() == 2 ? s.shape(1) : 0;
          t.scores.assign(s.data(), s.data() + s.size());
          t.ids.assign(i.data(), i.data() + i.size());
          tops.push_back(std::move(t));
        }
        std::vector<const mr::TopK*> ptrs;
        for (const auto& t : tops) ptrs.push_back(&t);
        auto r = without_gil([&] { return mr::merge_topk(ptrs, k, metric); });
        return topk_tuple(std::move(r));
      },
      py::arg("parts"), py::arg("k"), py::arg("metric"));

  m.def(
      "check_new_ids",
      [](const i64& ids, const mr::Index* index) {
        call_without_gil([&](auto v) { mr::check_new_ids(v, index); }, ids);
      },
      py::arg("ids").noconvert(), py::arg("index") = py::none());

  m.def(
      "shard_of",
      [](const i64& ids, int n_shards) {
        auto v = call_without_gil([&](auto i) { return mr::ShardedIndex::shard_of(i, n_shards); }, ids);
        return to_numpy(std::move(v));
      },
      py::arg("ids").noconvert(), py::arg("n_shards"));

  m.def(
      "recall_at_k",
      [](const i64& approx, const i64& exact, index_t k) {
        const index_t nq = approx.ndim() == 2 ? approx.shape(0) : 0;
        const index_t aw = approx.ndim() == 2 ? approx.shape(1) : 0;
        const index_t ew = exact.ndim() == 2 ? exact.shape(1) : 0;
        return call_without_gil([&](auto a, auto e) { return mr::recall_at_k(a, aw, e, ew, nq, k); }, approx, exact);
      },
      py::arg("approx_ids").noconvert(), py::arg("exact_ids").noconvert(), py::arg("k"));

  m.def(
      "normalize_rows",
      [](f32& x, index_t d, const std::string& argument) {
        auto v = mutable_view(x);
        without_gil([&] { mr::normalize_rows(v, d, "", argument.c_str()); });
      },
      py::arg("x").noconvert(), py::arg("d"), py::arg("argument"));

  m.def(
      "crc32", [](const u8& data) { return call_without_gil([](auto v) { return mr::crc32(v); }, data); },
      py::arg("data").noconvert());

  py::class_<mr::Index>(m, "Index")
      .def(py::init([](index_t dim, mr::Metric metric, const std::string& spec, const std::optional<f32>& l2_center) {
             return call_without_gil([&](auto c) { return mr::Index(dim, metric, spec, c); }, l2_center);
           }),
           py::arg("dim"), py::arg("metric"), py::arg("spec"), py::arg("l2_center").noconvert() = py::none())
      .def_property_readonly("dim", &mr::Index::dim)
      .def_property_readonly("metric", &mr::Index::metric)
      .def_property_readonly("spec", &mr::Index::spec)
      .def_property_readonly("kind", &mr::Index::kind)
      // Accessors that take the index lock release the GIL first: a kernel holding the lock may
      // need the GIL to check for Ctrl-C (a lock taken with the GIL held would deadlock with it).
      .def_property_readonly("is_trained", [](const mr::Index& self) { return without_gil([&] { return self.is_trained(); }); })
      .def_property_readonly("supports_remove", &mr::Index::supports_remove)
      .def("__len__", [](const mr::Index& self) { return without_gil([&] { return self.size(); }); })
      .def(
          "train", [](mr::Index& self, const f32& x) { call_without_gil([&](auto v) { self.train(v); }, x); },
          py::arg("x").noconvert())
      .def(
          "add",
          [](mr::Index& self, const f32& x, const std::optional<i64>& ids) {
            call_without_gil([&](auto v, auto i) { self.add(v, i); }, x, ids);
          },
          py::arg("x").noconvert(), py::arg("ids").noconvert() = py::none())
      .def(
          "remove",
          [](mr::Index& self, const i64& ids) { return call_without_gil([&](auto i) { return self.remove(i); }, ids); },
          py::arg("ids").noconvert())
      .def("ids",
           [](const mr::Index& self) {
             auto v = without_gil([&] { return self.ids(); });
             return to_numpy(std::move(v));
           })
      .def("next_id", [](const mr::Index& self) { return without_gil([&] { return self.next_id(); }); })
      .def(
          "search",
          [](const mr::Index& self, const f32& q, index_t k, std::optional<int> nprobe, std::optional<int> ef_search,
             const std::optional<i64>& allow_ids, const std::optional<u8>& allow_mask) {
            const auto params = search_params(nprobe, ef_search);
            return topk_tuple(call_without_gil(
                [&](auto qv, auto iv, auto mv) {
                  return self.search(qv, k, params, allow_filter(allow_ids || allow_mask, iv, mv));
                },
                q, allow_ids, allow_mask));
          },
          py::arg("queries").noconvert(), py::arg("k"), py::arg("nprobe") = py::none(),
          py::arg("ef_search") = py::none(), py::arg("allow_ids").noconvert() = py::none(),
          py::arg("allow_mask").noconvert() = py::none())
      .def("vectors",
           [](const mr::Index& self) {
             auto v = without_gil([&] { return self.vectors(); });
             const index_t n = static_cast<index_t>(v.size()) / self.dim();
             return to_numpy_2d(std::move(v), n, self.dim());
           })
      .def("serialize",
           [](const mr::Index& self) {
             auto v = without_gil([&] { return self.serialize(); });
             return to_numpy(std::move(v));
           })
      .def_static(
          "deserialize",
          [](const u8& bytes) { return call_without_gil([](auto b) { return mr::Index::deserialize(b); }, bytes); },
          py::arg("data").noconvert());

  py::class_<mr::ShardedIndex>(m, "ShardedIndex")
      .def(py::init<index_t, mr::Metric, const std::string&, int>(), py::arg("dim"), py::arg("metric"),
           py::arg("spec"), py::arg("n_shards"))
      .def_property_readonly("n_shards", &mr::ShardedIndex::n_shards)
      .def_property_readonly("is_trained",
                             [](const mr::ShardedIndex& self) { return without_gil([&] { return self.is_trained(); }); })
      .def("__len__", [](const mr::ShardedIndex& self) { return without_gil([&] { return self.size(); }); })
      .def("shard", py::overload_cast<int>(&mr::ShardedIndex::shard), py::return_value_policy::reference_internal)
      .def(
          "train", [](mr::ShardedIndex& self, const f32& x) { call_without_gil([&](auto v) { self.train(v); }, x); },
          py::arg("x").noconvert())
      .def(
          "add",
          [](mr::ShardedIndex& self, const f32& x, const std::optional<i64>& ids) {
            call_without_gil([&](auto v, auto i) { self.add(v, i); }, x, ids);
          },
          py::arg("x").noconvert(), py::arg("ids").noconvert() = py::none())
      .def(
          "remove",
          [](mr::ShardedIndex& self, const i64& ids) {
            return call_without_gil([&](auto i) { return self.remove(i); }, ids);
          },
          py::arg("ids").noconvert())
      .def(
          "search",
          [](const mr::ShardedIndex& self, const f32& q, index_t k, std::optional<int> nprobe,
             std::optional<int> ef_search, const std::optional<i64>& allow_ids) {
            const auto params = search_params(nprobe, ef_search);
            return topk_tuple(call_without_gil(
                [&](auto qv, auto av) { return self.search(qv, k, params, allow_filter(allow_ids.has_value(), av)); },
                q, allow_ids));
          },
          py::arg("queries").noconvert(), py::arg("k"), py::arg("nprobe") = py::none(),
          py::arg("ef_search") = py::none(), py::arg("allow_ids").noconvert() = py::none());
}

}  // namespace mlsd::bindings
