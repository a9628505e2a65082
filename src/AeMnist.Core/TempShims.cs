namespace AeMnist.Evaluation
{
    public static class Thresholds
    {
        public static double FromContamination(float[] errors, double c)
        {
            var s = errors.Select(e => (double)e).Order().ToArray();
            double pos = (s.Length - 1) * (1 - c);
            int lo = (int)Math.Floor(pos); int hi = Math.Min(lo + 1, s.Length - 1);
            return s[lo] + (s[hi] - s[lo]) * (pos - lo);
        }
    }
}
namespace AeMnist.IO
{
    public static class CsvImages
    {
        public static (float[] Pixels, int Count, string[] Sources) Read(string path) => throw new NotSupportedException();
    }
}
