namespace AeMnist.IO
{
    public static class CsvImages
    {
        public static (float[] Pixels, int Count, string[] Sources) Read(string path) => throw new NotSupportedException();
    }
}
